//! Where VMs are on the network: DHCP lease files (bootpd, dnsmasq), neighbour tables, the
//! best current address of a VM, and the hosts-file block kept in step with it.

pub mod bootpd;
pub mod dnsmasq;
pub mod hosts;
pub mod lease;
pub mod neighbours;
