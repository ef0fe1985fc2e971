//! etcdctl 3.5's output formats (`-w simple|json|fields|protobuf|table`), byte for byte.
//!
//! Every answer a command prints implements [`Printable`]: one method per format, each writing
//! into an [`Out`] buffer. A format a command does not have keeps the default method, which
//! refuses as etcdctl does (`Error: table not supported as output format`, exit 4). The pieces
//! the formats share live here: [`simple`] (key and value lines, `--hex`), [`json`] (etcd's
//! messages as Go's `encoding/json` writes them), [`fields`] (`"Key" : value` lines, Go's `%q`
//! quoting), [`protobuf`] (the message's wire bytes) and [`table`] (the boxed tables of
//! etcdctl's table format).

pub mod fields;
pub mod json;
pub mod protobuf;
pub mod simple;
pub mod table;

use super::error::{fail, Exit};
use crate::error::CliError;

/// The output format chosen with `-w` / `--write-out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable lines (the default).
    Simple,
    /// The answer as JSON, as Go's `encoding/json` marshals etcd's structs.
    Json,
    /// One `"Name" : value` line per field.
    Fields,
    /// The answer's protobuf encoding, raw.
    Protobuf,
    /// Boxed tables (member, endpoint and snapshot commands).
    Table,
}

impl Format {
    /// The format named `name`, as etcdctl spells them.
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "simple" => Format::Simple,
            "json" => Format::Json,
            "fields" => Format::Fields,
            "protobuf" => Format::Protobuf,
            "table" => Format::Table,
            _ => return None,
        })
    }

    /// The name etcdctl uses.
    pub fn name(self) -> &'static str {
        match self {
            Format::Simple => "simple",
            Format::Json => "json",
            Format::Fields => "fields",
            Format::Protobuf => "protobuf",
            Format::Table => "table",
        }
    }

    /// Prints `answer` in this format into `out`.
    pub fn print(self, answer: &impl Printable, out: &mut Out) -> Result<(), CliError> {
        match self {
            Format::Simple => answer.simple(out),
            Format::Json => answer.json(out),
            Format::Fields => answer.fields(out),
            Format::Protobuf => answer.protobuf(out),
            Format::Table => answer.table(out),
        }
    }
}

/// The refusal of a format a command does not have (exit 4).
pub fn unsupported(format: Format) -> CliError {
    fail(
        Exit::BadFeature,
        format!("{} not supported as output format", format.name()),
    )
}

/// Where printing goes: a byte buffer (keys and values are bytes), with the `--hex` setting and
/// `--print-value-only`.
#[derive(Debug, Default)]
pub struct Out {
    buf: Vec<u8>,
    /// `--hex`: keys and values as `\x..` escapes in the simple format.
    pub hex: bool,
    /// `--print-value-only` (get, simple format).
    pub value_only: bool,
}

impl Out {
    /// An empty buffer.
    pub fn new(hex: bool) -> Out {
        Out {
            buf: Vec::new(),
            hex,
            value_only: false,
        }
    }

    /// Appends bytes.
    pub fn bytes_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends text.
    pub fn text(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    /// Appends a line of text.
    pub fn line(&mut self, text: &str) {
        self.text(text);
        self.buf.push(b'\n');
    }

    /// What was printed.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// An answer in every output format: `simple` always, the others where etcdctl has them.
pub trait Printable {
    /// `-w simple`.
    fn simple(&self, out: &mut Out) -> Result<(), CliError>;

    /// `-w json`.
    fn json(&self, _out: &mut Out) -> Result<(), CliError> {
        Err(unsupported(Format::Json))
    }

    /// `-w fields`.
    fn fields(&self, _out: &mut Out) -> Result<(), CliError> {
        Err(unsupported(Format::Fields))
    }

    /// `-w protobuf`.
    fn protobuf(&self, _out: &mut Out) -> Result<(), CliError> {
        Err(unsupported(Format::Protobuf))
    }

    /// `-w table`.
    fn table(&self, _out: &mut Out) -> Result<(), CliError> {
        Err(unsupported(Format::Table))
    }
}
