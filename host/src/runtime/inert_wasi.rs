//! The WASI 0.2 interfaces a plugin may import, implemented by the host so
//! that they give nothing.
//!
//! # Why WASI is linked at all
//! A Rust guest built with `std` for `wasm32-wasip2` imports a few WASI
//! interfaces even if its code never uses them (`wasi:cli/environment`,
//! `exit`, the standard streams and terminals, `wasi:io`). The host links
//! exactly those, plus clocks and random, and gives them nothing: an empty
//! environment and no arguments, empty standard input, standard output and
//! error discarded, a wall clock frozen at the Unix epoch, a monotonic clock
//! frozen at zero, and random bytes from a fixed cycle, so a plugin that
//! reaches for them gets no data and stays deterministic. Filesystem,
//! sockets, name lookup and HTTP are not linked at all: a plugin importing
//! them is refused when it is loaded. So is a plugin importing anything else
//! the host does not provide; nothing is ever auto-stubbed.
//!
//! # Why not `wasmtime-wasi`
//! Its implementation is a real operating-system gateway (files, sockets,
//! an async runtime) that Kinga would configure down to nothing. Writing the
//! inert version here keeps every function a plugin can reach on one page,
//! and keeps tokio out of the library an embedder takes. The signatures are
//! generated from `host/wit/inert-wasi/`.
//!
//! Resources (streams, pollables, terminals) carry no state: each handle is
//! a placeholder, and wasmtime's own handle table checks that a plugin uses
//! only handles it was given.

use wasmtime::component::{HasSelf, Linker, Resource};

use self::generated::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
    terminal_stdin, terminal_stdout,
};
use self::generated::wasi::clocks::{monotonic_clock, wall_clock};
use self::generated::wasi::io::{error, poll, streams};
use self::generated::wasi::random::{insecure, insecure_seed, random};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit/inert-wasi",
        world: "kinga:inert-wasi/inert",
        imports: { default: trappable },
    });
}

/// The most random bytes one call may ask for at once.
const MAX_RANDOM_BYTES: u64 = 4096;

/// The capacity an output stream reports; writes are discarded anyway.
const OUTPUT_CAPACITY: u64 = 4096;

/// The per-call state of the inert WASI interfaces: two byte cycles.
pub struct InertWasi {
    random: ByteCycle,
    insecure: ByteCycle,
}

impl InertWasi {
    /// A fresh state; every call starts both cycles from their first byte.
    pub fn new() -> Self {
        Self {
            random: ByteCycle::new(&[0x4b, 0x69, 0x6e, 0x67, 0x61]),
            insecure: ByteCycle::new(&[0x61, 0x67, 0x6e, 0x69, 0x4b]),
        }
    }
}

/// Adds every interface of `host/wit/inert-wasi/world.wit` to `linker`.
///
/// # Errors
/// When an interface cannot be added (a bug).
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut InertWasi,
) -> wasmtime::Result<()> {
    generated::Inert::add_to_linker::<T, HasSelf<InertWasi>>(linker, get)
}

/// Deterministic "random" bytes: a fixed sequence repeated.
struct ByteCycle {
    bytes: &'static [u8],
    next: usize,
}

impl ByteCycle {
    fn new(bytes: &'static [u8]) -> Self {
        Self { bytes, next: 0 }
    }

    fn byte(&mut self) -> u8 {
        let byte = self.bytes[self.next];
        self.next = (self.next + 1) % self.bytes.len();
        byte
    }

    fn take(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        if len > MAX_RANDOM_BYTES {
            wasmtime::bail!("a plugin asked for {len} random bytes, over {MAX_RANDOM_BYTES}");
        }
        Ok((0..len).map(|_| self.byte()).collect())
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        bytes.iter_mut().for_each(|b| *b = self.byte());
        u64::from_be_bytes(bytes)
    }
}

/// A handle that stands for nothing.
fn placeholder<T: 'static>() -> Resource<T> {
    Resource::new_own(0)
}

impl error::Host for InertWasi {}

impl error::HostError for InertWasi {
    fn to_debug_string(&mut self, _: Resource<error::Error>) -> wasmtime::Result<String> {
        Ok(String::new())
    }
    fn drop(&mut self, _: Resource<error::Error>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl poll::Host for InertWasi {
    /// Nothing is ever pending, so every pollable is ready.
    fn poll(&mut self, pollables: Vec<Resource<poll::Pollable>>) -> wasmtime::Result<Vec<u32>> {
        if pollables.is_empty() {
            wasmtime::bail!("a plugin polled an empty list");
        }
        let count = u32::try_from(pollables.len())?;
        Ok((0..count).collect())
    }
}

impl poll::HostPollable for InertWasi {
    fn ready(&mut self, _: Resource<poll::Pollable>) -> wasmtime::Result<bool> {
        Ok(true)
    }
    fn block(&mut self, _: Resource<poll::Pollable>) -> wasmtime::Result<()> {
        Ok(())
    }
    fn drop(&mut self, _: Resource<poll::Pollable>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl streams::Host for InertWasi {}

/// Standard input: always at its end.
impl streams::HostInputStream for InertWasi {
    fn read(
        &mut self,
        _: Resource<streams::InputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<Vec<u8>, streams::StreamError>> {
        Ok(Err(streams::StreamError::Closed))
    }
    fn blocking_read(
        &mut self,
        _: Resource<streams::InputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<Vec<u8>, streams::StreamError>> {
        Ok(Err(streams::StreamError::Closed))
    }
    fn skip(
        &mut self,
        _: Resource<streams::InputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<u64, streams::StreamError>> {
        Ok(Err(streams::StreamError::Closed))
    }
    fn blocking_skip(
        &mut self,
        _: Resource<streams::InputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<u64, streams::StreamError>> {
        Ok(Err(streams::StreamError::Closed))
    }
    fn subscribe(
        &mut self,
        _: Resource<streams::InputStream>,
    ) -> wasmtime::Result<Resource<poll::Pollable>> {
        Ok(placeholder())
    }
    fn drop(&mut self, _: Resource<streams::InputStream>) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// Standard output and error: every write accepted and discarded.
impl streams::HostOutputStream for InertWasi {
    fn check_write(
        &mut self,
        _: Resource<streams::OutputStream>,
    ) -> wasmtime::Result<Result<u64, streams::StreamError>> {
        Ok(Ok(OUTPUT_CAPACITY))
    }
    fn write(
        &mut self,
        _: Resource<streams::OutputStream>,
        _: Vec<u8>,
    ) -> wasmtime::Result<Result<(), streams::StreamError>> {
        Ok(Ok(()))
    }
    fn blocking_write_and_flush(
        &mut self,
        _: Resource<streams::OutputStream>,
        _: Vec<u8>,
    ) -> wasmtime::Result<Result<(), streams::StreamError>> {
        Ok(Ok(()))
    }
    fn flush(
        &mut self,
        _: Resource<streams::OutputStream>,
    ) -> wasmtime::Result<Result<(), streams::StreamError>> {
        Ok(Ok(()))
    }
    fn blocking_flush(
        &mut self,
        _: Resource<streams::OutputStream>,
    ) -> wasmtime::Result<Result<(), streams::StreamError>> {
        Ok(Ok(()))
    }
    fn subscribe(
        &mut self,
        _: Resource<streams::OutputStream>,
    ) -> wasmtime::Result<Resource<poll::Pollable>> {
        Ok(placeholder())
    }
    fn write_zeroes(
        &mut self,
        _: Resource<streams::OutputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<(), streams::StreamError>> {
        Ok(Ok(()))
    }
    fn blocking_write_zeroes_and_flush(
        &mut self,
        _: Resource<streams::OutputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<(), streams::StreamError>> {
        Ok(Ok(()))
    }
    /// The only input stream is at its end, so nothing is ever spliced.
    fn splice(
        &mut self,
        _: Resource<streams::OutputStream>,
        _: Resource<streams::InputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<u64, streams::StreamError>> {
        Ok(Err(streams::StreamError::Closed))
    }
    fn blocking_splice(
        &mut self,
        _: Resource<streams::OutputStream>,
        _: Resource<streams::InputStream>,
        _: u64,
    ) -> wasmtime::Result<Result<u64, streams::StreamError>> {
        Ok(Err(streams::StreamError::Closed))
    }
    fn drop(&mut self, _: Resource<streams::OutputStream>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl environment::Host for InertWasi {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }
    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}

/// A plugin that exits ends its call with an error, as a trap would.
impl exit::Host for InertWasi {
    fn exit(&mut self, _: Result<(), ()>) -> wasmtime::Result<()> {
        wasmtime::bail!("the plugin called wasi:cli/exit")
    }
    fn exit_with_code(&mut self, _: u8) -> wasmtime::Result<()> {
        wasmtime::bail!("the plugin called wasi:cli/exit")
    }
}

impl stdin::Host for InertWasi {
    fn get_stdin(&mut self) -> wasmtime::Result<Resource<streams::InputStream>> {
        Ok(placeholder())
    }
}

impl stdout::Host for InertWasi {
    fn get_stdout(&mut self) -> wasmtime::Result<Resource<streams::OutputStream>> {
        Ok(placeholder())
    }
}

impl stderr::Host for InertWasi {
    fn get_stderr(&mut self) -> wasmtime::Result<Resource<streams::OutputStream>> {
        Ok(placeholder())
    }
}

impl terminal_input::Host for InertWasi {}

impl terminal_input::HostTerminalInput for InertWasi {
    fn drop(&mut self, _: Resource<terminal_input::TerminalInput>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl terminal_output::Host for InertWasi {}

impl terminal_output::HostTerminalOutput for InertWasi {
    fn drop(&mut self, _: Resource<terminal_output::TerminalOutput>) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// No standard stream is a terminal.
impl terminal_stdin::Host for InertWasi {
    fn get_terminal_stdin(
        &mut self,
    ) -> wasmtime::Result<Option<Resource<terminal_input::TerminalInput>>> {
        Ok(None)
    }
}

impl terminal_stdout::Host for InertWasi {
    fn get_terminal_stdout(
        &mut self,
    ) -> wasmtime::Result<Option<Resource<terminal_output::TerminalOutput>>> {
        Ok(None)
    }
}

impl terminal_stderr::Host for InertWasi {
    fn get_terminal_stderr(
        &mut self,
    ) -> wasmtime::Result<Option<Resource<terminal_output::TerminalOutput>>> {
        Ok(None)
    }
}

/// Frozen at the Unix epoch, with a resolution of one second.
impl wall_clock::Host for InertWasi {
    fn now(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        Ok(wall_clock::Datetime {
            seconds: 0,
            nanoseconds: 0,
        })
    }
    fn resolution(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        Ok(wall_clock::Datetime {
            seconds: 1,
            nanoseconds: 0,
        })
    }
}

/// Frozen at zero; a wait for any instant or duration is over at once.
impl monotonic_clock::Host for InertWasi {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(0)
    }
    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1_000_000_000)
    }
    fn subscribe_instant(&mut self, _: u64) -> wasmtime::Result<Resource<poll::Pollable>> {
        Ok(placeholder())
    }
    fn subscribe_duration(&mut self, _: u64) -> wasmtime::Result<Resource<poll::Pollable>> {
        Ok(placeholder())
    }
}

impl random::Host for InertWasi {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        self.random.take(len)
    }
    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(self.random.u64())
    }
}

impl insecure::Host for InertWasi {
    fn get_insecure_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        self.insecure.take(len)
    }
    fn get_insecure_random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(self.insecure.u64())
    }
}

impl insecure_seed::Host for InertWasi {
    fn insecure_seed(&mut self) -> wasmtime::Result<(u64, u64)> {
        // "Kinga" in ASCII, as the low word; the high word is zero.
        Ok((0x004b_696e_6761, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_cycle_and_u64_reads_them_big_endian() {
        let mut cycle = ByteCycle::new(&[1, 2, 3]);
        assert_eq!(cycle.take(7).unwrap(), vec![1, 2, 3, 1, 2, 3, 1]);
        assert_eq!(cycle.u64(), 0x0203_0102_0301_0203);
    }

    #[test]
    fn random_requests_over_the_cap_fail() {
        let mut cycle = ByteCycle::new(&[1]);
        assert!(cycle.take(MAX_RANDOM_BYTES).is_ok());
        assert!(cycle.take(MAX_RANDOM_BYTES + 1).is_err());
    }
}
