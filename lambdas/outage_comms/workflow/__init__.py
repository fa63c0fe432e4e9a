"""The incident-comms workflow's domain: what each Step Functions state does, minus the AWS wiring.

Handlers in ``lambdas/handlers`` parse the state's input and call one function here; the
adapters (DynamoDB, SNS, SES, Secrets Manager, Step Functions) come from ``adapters``.
"""
