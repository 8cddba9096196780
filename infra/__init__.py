"""The Pulumi program that provisions one environment of the ML system on AWS."""
