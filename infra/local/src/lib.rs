//! The local stack's Rust side: the API gateway in front of the same handlers
//! the Lambdas run, the WhatsApp sandbox, and what `make run` sets up
//! (table, bus, demo tenant).

pub mod bench;
pub mod capacity;
pub mod costs;
pub mod demo;
pub mod desk;
pub mod gateway;
pub mod jwt;
pub mod loadbench;
pub mod sandbox;
pub mod server;
pub mod stack;
