"""The local AWS endpoint: Kinesis Data Streams and Firehose APIs over tidebox's own streams
and delivery streams, for boto3, the AWS CLI and other SDKs."""
