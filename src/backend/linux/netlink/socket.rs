//! The `NETLINK_ROUTE` socket: opening it, and one request at a time with its replies.

use std::io;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::error::{failed, invalid};
use super::{Netlink, NetlinkError};

impl Netlink {
    pub fn open() -> Result<Netlink, NetlinkError> {
        fn socket() -> io::Result<Socket> {
            let mut socket = Socket::new(NETLINK_ROUTE)?;
            socket.bind_auto()?;
            socket.connect(&SocketAddr::new(0, 0))?; // only the kernel may talk to us
            Ok(socket)
        }
        let socket = socket().map_err(failed("open", "rtnetlink socket"))?;
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }
    /// Sends `message` with NLM_F_REQUEST | NLM_F_ACK | `flags` and collects the replies up to
    /// the ACK (or NLMSG_DONE for a dump). A negative ACK becomes the error, with its errno.
    pub(super) fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buffer = vec![0; packet.buffer_len()];
        packet.serialize(&mut buffer);
        self.socket.send(&buffer, 0)?;

        let mut replies = Vec::new();
        loop {
            let datagram = match self.socket.recv_from_full() {
                Ok((datagram, _)) => datagram,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            let mut rest = datagram.as_slice();
            while !rest.is_empty() {
                let length = NetlinkBuffer::new_checked(rest).map_err(invalid)?.length() as usize;
                let (this, next) = rest.split_at(length.next_multiple_of(4).min(rest.len()));
                rest = next;
                let reply =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(this).map_err(invalid)?;
                // Anything else is left over from an earlier request that failed half-way.
                if reply.header.sequence_number != self.sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    NetlinkPayload::Error(error) if error.code.is_some() => {
                        return Err(error.to_io());
                    }
                    NetlinkPayload::Done(done) if done.code < 0 => {
                        return Err(io::Error::from_raw_os_error(-done.code));
                    }
                    NetlinkPayload::Error(_) | NetlinkPayload::Done(_) => return Ok(replies),
                    _ => {}
                }
            }
        }
    }
}
