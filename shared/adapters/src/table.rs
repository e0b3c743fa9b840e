//! The table definition: `infra/table.json` is the one source of truth, read
//! here for the local bootstrap and checked against `template.yaml` by a test.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

/// The definition, as in `infra/table.json`.
pub const TABLE_JSON: &str = include_str!("../../../infra/table.json");

pub fn definition() -> Value {
    serde_json::from_str(TABLE_JSON).expect("infra/table.json is valid JSON (checked by a test)")
}

fn keys(v: &Value) -> Result<Vec<KeySchemaElement>, String> {
    v.as_array()
        .ok_or("KeySchema must be a list")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str().unwrap_or_default())
                .key_type(KeyType::from(k["KeyType"].as_str().unwrap_or_default()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn projection(v: &Value) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::from(
            v["ProjectionType"].as_str().unwrap_or("ALL"),
        ))
        .build()
}

/// Creates the table (and its TTL) unless it exists. Returns whether it created it.
pub async fn ensure_table(client: &Client, name: &str) -> Result<bool, String> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    let d = definition();
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for a in d["AttributeDefinitions"].as_array().into_iter().flatten() {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a["AttributeName"].as_str().unwrap_or_default())
                .attribute_type(ScalarAttributeType::from(
                    a["AttributeType"].as_str().unwrap_or("S"),
                ))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    req = req.set_key_schema(Some(keys(&d["KeySchema"])?));
    for l in d["LocalSecondaryIndexes"].as_array().into_iter().flatten() {
        req = req.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(l["IndexName"].as_str().unwrap_or_default())
                .set_key_schema(Some(keys(&l["KeySchema"])?))
                .projection(projection(&l["Projection"]))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    for g in d["GlobalSecondaryIndexes"].as_array().into_iter().flatten() {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(g["IndexName"].as_str().unwrap_or_default())
                .set_key_schema(Some(keys(&g["KeySchema"])?))
                .projection(projection(&g["Projection"]))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) => {
            let text = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
            if text.contains("ResourceInUse") || text.contains("already exists") {
                return Ok(false);
            }
            return Err(text);
        }
    }
    let ttl = &d["TimeToLiveSpecification"];
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(ttl["AttributeName"].as_str().unwrap_or("expiresAt"))
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_names_the_indexes_the_store_queries() {
        let d = definition();
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
