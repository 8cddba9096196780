#!/bin/sh
# Logical backup of one PostgreSQL database into the backups bucket. The db-backup CronJob
# runs its three steps in three containers (the AWS CLI image has no pg_dump, the client
# image no AWS CLI); the restore drill runs `backup`, which is the same steps in one go.
#
#   pg_backup.sh token    IAM auth token -> $PGPASSFILE (RDS_IAM_AUTH=1 only)
#   pg_backup.sh dump     pg_dump custom format -> $BACKUP_DIR/$PGDATABASE.dump
#   pg_backup.sh upload   -> s3://$BACKUP_BUCKET/postgres/$PGDATABASE/<UTC time>.dump, SSE-KMS
#   pg_backup.sh backup   dump, then upload
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, BACKUP_BUCKET, BACKUP_DIR; optional
# BACKUP_KMS_KEY_ID (else the bucket's default key), AWS_REGION, AWS_ENDPOINT_URL_S3.
set -eu

: "${PGDATABASE:?}" "${BACKUP_DIR:?}"
dump_file="$BACKUP_DIR/$PGDATABASE.dump"
# The dump's own snapshot time names the object: the restore drill reads its RPO from it.
stamp_file="$BACKUP_DIR/$PGDATABASE.stamp"

token() {
    : "${PGHOST:?}" "${PGUSER:?}" "${PGPASSFILE:?}" "${AWS_REGION:?}"
    umask 077
    pass="$(aws rds generate-db-auth-token --hostname "$PGHOST" --port "${PGPORT:-5432}" \
        --username "$PGUSER" --region "$AWS_REGION")"
    printf '%s:%s:%s:%s:%s\n' "$PGHOST" "${PGPORT:-5432}" "$PGDATABASE" "$PGUSER" "$pass" \
        > "$PGPASSFILE"
}

dump() {
    umask 077
    date -u +%Y%m%dT%H%M%SZ > "$stamp_file"
    # Written to a file first: a dump that fails half-way never reaches the bucket.
    pg_dump --format=custom --compress=6 --no-password --file="$dump_file.partial" "$PGDATABASE"
    mv "$dump_file.partial" "$dump_file"
}

upload() {
    : "${BACKUP_BUCKET:?}"
    key="postgres/$PGDATABASE/$(cat "$stamp_file").dump"
    if [ -n "${BACKUP_KMS_KEY_ID:-}" ]; then
        set -- --sse aws:kms --sse-kms-key-id "$BACKUP_KMS_KEY_ID"
    else
        set -- --sse aws:kms
    fi
    aws s3 cp --only-show-errors "$@" "$dump_file" "s3://$BACKUP_BUCKET/$key"
    echo "backed up $PGDATABASE to s3://$BACKUP_BUCKET/$key"
}

case "${1:-}" in
    token) token ;;
    dump) dump ;;
    upload) upload ;;
    backup) dump && upload ;;
    *) echo "usage: pg_backup.sh token|dump|upload|backup" >&2; exit 2 ;;
esac
