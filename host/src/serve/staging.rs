//! A package upload written to a directory of its own under the
//! administration directory (`uploads/`), so that it is verified and
//! installed exactly as a package directory given to the CLI; removed when
//! dropped, whatever the outcome.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The staged package.
pub struct Staged {
    dir: PathBuf,
}

impl Staged {
    /// Writes `manifest.json`, `plugin.wasm` and `fixtures/` under
    /// `home/uploads`. A fixture name the manifest schema would not
    /// allow (see [`crate::admin::is_fixture_name`]) is refused before
    /// anything is written.
    pub fn new(
        home: &Path,
        manifest: &Value,
        component: &[u8],
        fixtures: &BTreeMap<String, Vec<u8>>,
    ) -> std::io::Result<Staged> {
        if fixtures
            .keys()
            .any(|name| !crate::admin::is_fixture_name(name))
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a fixture name is not a plain file name",
            ));
        }
        let mut name = [0u8; 12];
        getrandom::fill(&mut name).map_err(|e| std::io::Error::other(e.to_string()))?;
        let dir = home.join("uploads").join(hex::encode(name));
        std::fs::create_dir_all(&dir)?;
        let staged = Staged { dir };
        let text = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
        std::fs::write(staged.dir.join("manifest.json"), text)?;
        std::fs::write(staged.dir.join("plugin.wasm"), component)?;
        if !fixtures.is_empty() {
            std::fs::create_dir(staged.dir.join("fixtures"))?;
        }
        for (name, bytes) in fixtures {
            std::fs::write(staged.dir.join("fixtures").join(name), bytes)?;
        }
        Ok(staged)
    }

    /// The package directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
