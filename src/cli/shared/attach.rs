//! How `start` and `run` attach a VM: `--attach` and `--owner` as one attachment, and a user
//! (name or uid) resolved on this host.

use crate::error::Error;
use crate::model::Attach;

/// `--attach` and `--owner` as one attachment.
pub fn attachment(attach: &str, owner: Option<u32>) -> Result<Attach, Error> {
    let attach = Attach::parse(attach)?;
    match owner {
        None => Ok(attach),
        Some(owner) if attach == Attach::Tap => Ok(Attach::OwnedTap { owner }),
        Some(owner) => Err(
            Error::invalid("--owner", owner.to_string(), "only a TAP has an owner")
                .with_hint("drop --owner, or use --attach tap"),
        ),
    }
}

/// A user name or numeric uid, as (uid, gid): the gid of a bare uid is its passwd entry's, else
/// the same number.
pub fn resolve_user(user: &str) -> Result<(u32, u32), Error> {
    let found = match user.parse::<u32>() {
        Ok(uid) => nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map_or((uid, uid), |u| (uid, u.gid.as_raw())),
        Err(_) => match nix::unistd::User::from_name(user) {
            Ok(Some(found)) => (found.uid.as_raw(), found.gid.as_raw()),
            _ => {
                return Err(Error::invalid("user", user, "no such user on this host")
                    .with_hint("give a user name from /etc/passwd, or a numeric uid"));
            }
        },
    };
    Ok(found)
}
