//! The host's default IP filter rules (the `net_filter` file), read and checked: by `plan`
//! for VMs without rules of their own, and by `config net_filter` before it stores a path.

use crate::error::Error;
use crate::model::filter::FilterRules;

/// The rules of the `net_filter` file, for VMs without their own.
pub fn load_default_filter(path: Option<&std::path::Path>) -> Result<Option<FilterRules>, Error> {
    let Some(path) = path else { return Ok(None) };
    let text = crate::store::read_input_text(path, "net_filter file")?;
    text.parse::<FilterRules>()
        .map(Some)
        .map_err(|e| Error::corrupt(path, format!("filter rules: {e}")))
}
