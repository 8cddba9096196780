// Validates Gateway API manifests (a JSON list on stdin) with the validators that
// @kubernetes-models/gateway-api generates from the Gateway API CRDs' OpenAPI schemas.
// Prints one JSON list: per manifest, its errors ([] when valid, null for a kind the
// package does not know).
import * as v1 from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import * as v1beta1 from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1";
import * as v1alpha2 from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2";

const MODELS = {
  "gateway.networking.k8s.io/v1": v1,
  "gateway.networking.k8s.io/v1beta1": v1beta1,
  "gateway.networking.k8s.io/v1alpha2": v1alpha2,
};

function errorsOf(manifest) {
  const model = (MODELS[manifest.apiVersion] ?? {})[manifest.kind];
  if (typeof model !== "function" || typeof model.prototype?.validate !== "function") {
    return null;
  }
  try {
    new model(manifest).validate();
    return [];
  } catch (error) {
    const found = error.errors ?? [];
    if (found.length === 0) return [String(error.message)];
    return found.map((e) => `${(e.instancePath || "/").slice(1).replaceAll("/", ".") || "(object)"}: ${e.message}`);
  }
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
process.stdout.write(JSON.stringify(JSON.parse(input).map(errorsOf)));
