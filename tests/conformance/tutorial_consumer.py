# recommendation_service_simulate.py
#
# The tutorial's consumer (../shared/seed/netflix-sqs-sns.md), unchanged except that the
# two placeholders come from the environment: YOUR_REGION_NAME from AWS_REGION and
# YOUR_QUEUE_NAME from QUEUE_NAME. The endpoint comes from AWS_ENDPOINT_URL, which boto3
# reads by itself.

import os

import boto3

sqs = boto3.client('sqs', region_name=os.environ.get('AWS_REGION', 'us-east-1'))
queue_name = os.environ['QUEUE_NAME']

def receive_messages_from_queue():
   while True:
       try:
           response = sqs.receive_message(QueueUrl=queue_name, MaxNumberOfMessages=1, WaitTimeSeconds=10)
   
           if 'Messages' in response:
               for message in response['Messages']:
                   print(f"Received message: {message['Body']}")
                   
                   # Here comes the logic to process the event by the recommendation service...
   
                   # When done, delete the message from the queue
                   sqs.delete_message(QueueUrl=queue_name, ReceiptHandle=message['ReceiptHandle'])
                   print(f"Deleted message: {message['MessageId']}")
   
           else:
               print("No messages received from the queue.")
   
       except Exception as e:
           print(f"Error receiving messages: {e}")

if __name__ == '__main__':
    receive_messages_from_queue()
