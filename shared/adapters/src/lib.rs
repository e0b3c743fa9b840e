//! Everything of afterhours that touches the outside world: the DynamoDB store,
//! the EventBridge publisher, the WhatsApp Graph API client, configuration,
//! logging, and the HTTP edge (claims, errors).

pub mod boot;
pub mod config;
pub mod cursor;
pub mod desk;
pub mod error_code;
pub mod events;
pub mod graph;
pub mod http;
pub mod i18n;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod retry;
pub mod store;
pub mod table;
pub mod tenant;
pub mod tls;
pub mod view;

pub use afterhours_rules as rules;
