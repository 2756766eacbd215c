"""The table behind powertools' idempotency utility (key attribute "id", TTL "expiration").

Declared as a model only so the local stack, tests and the CDK stack create it from the
same registry as every other table; powertools reads and writes it itself.
"""
from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from .resources import table


@table("idempotency")
class IdempotencyRecord(Model):
    class Meta:
        table_name = "idempotency"

    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)  # powertools sets it; the stack enables TTL


def persistence_layer(settings):
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings.table_name("idempotency"))
