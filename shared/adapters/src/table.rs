//! The table definition: `infra/table.json` is the one source of truth, read
//! here for the local bootstrap and checked against `template.yaml` by a test.

use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;
use serde_json::Value;

/// The definition, as in `infra/table.json`.
pub const TABLE_JSON: &str = include_str!("../../../infra/table.json");

pub fn definition() -> Result<Value, TableError> {
    serde_json::from_str(TABLE_JSON).map_err(|e| TableError::Definition(e.to_string()))
}

/// Why the table could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("infra/table.json does not describe a table: {0}")]
    Definition(String),
    #[error("dynamodb: {0}")]
    Dynamo(String),
}

fn build(e: aws_sdk_dynamodb::error::BuildError) -> TableError {
    TableError::Definition(e.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    attribute_definitions: Vec<Attribute>,
    key_schema: Vec<Key>,
    #[serde(default)]
    local_secondary_indexes: Vec<Index>,
    #[serde(default)]
    global_secondary_indexes: Vec<Index>,
    time_to_live_specification: Ttl,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Key {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Index {
    index_name: String,
    key_schema: Vec<Key>,
    projection: IndexProjection,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexProjection {
    projection_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ttl {
    attribute_name: String,
}

fn keys(ks: &[Key]) -> Result<Vec<KeySchemaElement>, TableError> {
    ks.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(build)
        })
        .collect()
}

fn projection(p: &IndexProjection) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::from(p.projection_type.as_str()))
        .build()
}

/// The `CreateTable` request the definition describes.
fn create_request(
    client: &Client,
    name: &str,
    d: &Definition,
) -> Result<CreateTableFluentBuilder, TableError> {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&d.key_schema)?));
    for a in &d.attribute_definitions {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(build)?,
        );
    }
    for l in &d.local_secondary_indexes {
        req = req.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(&l.index_name)
                .set_key_schema(Some(keys(&l.key_schema)?))
                .projection(projection(&l.projection))
                .build()
                .map_err(build)?,
        );
    }
    for g in &d.global_secondary_indexes {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(keys(&g.key_schema)?))
                .projection(projection(&g.projection))
                .build()
                .map_err(build)?,
        );
    }
    Ok(req)
}

/// Whether DynamoDB deletes items once their `expiresAt` passed (TTL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// Deleted, as in AWS (the local stack too).
    Deleted,
    /// Kept: for tables whose items are dated on fixed days that the
    /// calendar has passed (tests, benchmarks). DynamoDB Local deletes an
    /// expired item within seconds, by the real clock, which would take
    /// records away mid-test; every read filters expiry anyway.
    Kept,
}

/// Creates the table (and its TTL) unless it exists. Returns whether it created it.
pub async fn ensure_table(client: &Client, name: &str) -> Result<bool, TableError> {
    ensure_table_with(client, name, Expired::Deleted).await
}

/// [`ensure_table`], choosing whether expired items are deleted.
pub async fn ensure_table_with(
    client: &Client,
    name: &str,
    expired: Expired,
) -> Result<bool, TableError> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    let d: Definition =
        serde_json::from_str(TABLE_JSON).map_err(|e| TableError::Definition(e.to_string()))?;
    if let Err(e) = create_request(client, name, &d)?.send().await {
        let text = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
        if text.contains("ResourceInUse") || text.contains("already exists") {
            return Ok(false);
        }
        return Err(TableError::Dynamo(text));
    }
    if expired == Expired::Kept {
        return Ok(true);
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&d.time_to_live_specification.attribute_name)
                .enabled(true)
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(|e| {
            TableError::Dynamo(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
        })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_names_the_indexes_the_store_queries() {
        let d = definition().unwrap();
        assert_eq!(
            d["LocalSecondaryIndexes"][0]["IndexName"],
            crate::store::LSI
        );
        assert_eq!(
            d["GlobalSecondaryIndexes"][0]["IndexName"],
            crate::store::PENDING_INDEX
        );
        assert_eq!(d["TimeToLiveSpecification"]["AttributeName"], "expiresAt");
    }
}
