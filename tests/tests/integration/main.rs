//! Integration tests against DynamoDB Local and the moto EventBridge server
//! (both started by `make test`), with the WhatsApp sandbox standing in for the
//! Graph API. One binary so the workspace links it once.

mod admin;
mod agents;
mod app;
mod attribution;
mod channels;
mod conflicts;
mod dedup;
mod desk;
mod direct;
mod e2e;
mod events;
mod handled;
mod ingest;
mod lost_answers;
mod report;
mod robustness;
mod round_trips;
mod send;
mod settings_api;
mod store;
mod store_lists;
mod store_sends;
mod template;
mod tls;
mod webhook;
