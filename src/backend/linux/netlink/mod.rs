//! Links through rtnetlink (synchronous): bridges, veth pairs, macvlan/macvtap, addresses, ...
//!
//! One request at a time on a blocking `NETLINK_ROUTE` socket: every request asks for an
//! acknowledgement and reads replies until the ACK, error or end of dump carrying its sequence
//! number. Kernel errors come back as `io::Error`s with the errno, so callers can tell EPERM
//! (no CAP_NET_ADMIN), EEXIST or ENODEV apart.
//!
//! Split by concern: `socket` (opening it, one request and its replies), `links` (links and
//! their changes), `routes` (addresses and routes), `error` (`NetlinkError`).

mod error;
mod links;
mod routes;
mod socket;
#[cfg(test)]
mod tests;

use netlink_sys::Socket;

pub use error::NetlinkError;
pub use links::LinkInfo;
pub use routes::RouteInfo;

/// A `NETLINK_ROUTE` socket in the caller's network namespace.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
}
