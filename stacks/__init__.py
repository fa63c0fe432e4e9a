"""CDK stacks and constructs that turn a validated plan into AWS infrastructure."""
