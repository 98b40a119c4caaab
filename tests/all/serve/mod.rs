//! `kinga serve` as platforms meet it: a real server process on loopback,
//! driven by a real HTTP client (and raw sockets where a client is too
//! polite to misbehave).

mod admin;
mod bounds;
mod contract;
mod evaluate;
mod operations;
mod platforms;
mod primero_flow;
pub mod primero_standin;
mod profiles;
mod readme;
mod security;
pub mod server;
