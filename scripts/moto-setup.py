"""Prepares a fresh moto_server for the tests: an IAM user with an S3 policy and an access key.

moto checks signatures only after INITIAL_NO_AUTH_ACTION_COUNT requests; the test support starts it with 3, which
are these three calls, so every later request must be signed with the key printed here (a broken signer fails).
Usage: moto-setup.py PORT  → prints "ACCESS_KEY_ID SECRET_ACCESS_KEY".
"""
import json
import sys

import boto3

port = sys.argv[1]
iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="curate")
iam.put_user_policy(UserName="curate", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="curate")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
