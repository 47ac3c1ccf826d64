//! HTTP handlers, one module per resource and one function per action.
//! Handlers parse, call the domain or a service module, and map the result.

pub mod artifacts;
pub mod health;
pub mod imports;
pub mod marketplace;
pub mod notifications;
pub mod packages;
pub mod tenants;
pub mod undo;
