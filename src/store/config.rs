//! `config.plist`: the host settings, a dict of key -> string, as `vmctl config` writes them.

use std::collections::BTreeMap;

use super::plist::{check_plist_depth, plist_reason};
use super::{Store, StoreLock, read_if_exists, write_atomic};
use crate::error::Error;

/// The values stored in `config.plist` (key -> string), as `settings` normalized them.
pub type ConfigValues = BTreeMap<String, String>;

impl Store {
    /// The values in `config.plist` as strings, unchecked: `config --unset` and `config KEY
    /// VALUE` must be able to repair a bad value.
    pub fn load_config_unchecked(&self) -> Result<BTreeMap<String, String>, Error> {
        let path = self.config_path();
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(ConfigValues::new());
        };
        check_plist_depth(&path, &bytes)?;
        let dict: BTreeMap<String, plist::Value> = plist::from_bytes(&bytes).map_err(|e| {
            Error::corrupt(
                &path,
                format!("not a plist dictionary: {}", plist_reason(&e)),
            )
        })?;
        let mut values = BTreeMap::new();
        for (key, value) in dict {
            let text = match value {
                plist::Value::String(s) => s,
                plist::Value::Integer(i) => i.to_string(),
                plist::Value::Boolean(b) => u8::from(b).to_string(),
                other => {
                    return Err(Error::corrupt(
                        &path,
                        format!("key {key}: expected a string, found {other:?}"),
                    ));
                }
            };
            values.insert(key, text);
        }
        Ok(values)
    }

    pub fn save_config(&self, _lock: &StoreLock, values: &ConfigValues) -> Result<(), Error> {
        let mut bytes = Vec::new();
        plist::to_writer_xml(&mut bytes, values)
            .map_err(|e| Error::corrupt(self.config_path(), e))?;
        write_atomic(&self.config_path(), &bytes)
    }
}
