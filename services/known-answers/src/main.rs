//! known-answers: ordinary `no_std` + `alloc` crates from crates.io on real data, inside a
//! service on its heap, each checked against answers their authors or the standards published:
//! - `sha2`: SHA-256 of the FIPS 180-2 examples ("abc", the 448-bit message, a million `a`);
//! - `crc32fast`: CRC-32 of "123456789", the check value of the CRC catalogue (0xcbf43926);
//! - `miniz_oxide`: deflate and inflate of 4 MiB of generated text: the bytes and their CRC-32
//!   come back, and the compressed form is smaller;
//! - `serde_json` and `postcard`: the JSON example of RFC 8259 (section 13) parsed into typed
//!   records, written back compact (the known text) and round-tripped through postcard.
//!
//! One line per check; exits 0 when every check held, 1 otherwise.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use alloc::{format, vec};
use core::fmt::Write;

use sel4_runtime::{declare_main, println};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

declare_main!(main);

/// The checks that failed.
struct Checks(u32);

impl Checks {
    /// `got` against an answer the crate's authors or a standard published.
    fn published(&mut self, what: &str, got: &str, want: &str) {
        self.check(what, got, want, "published")
    }

    /// `got` against what it was before a round trip.
    fn kept(&mut self, what: &str, got: &str, want: &str) {
        self.check(what, got, want, "before")
    }

    fn check(&mut self, what: &str, got: &str, want: &str, source: &str) {
        if got == want {
            println!("known-answers: {what}: {got} (as {source})");
        } else {
            println!("known-answers: {what}: got {got}, {source} {want}: MISMATCH");
            self.0 += 1;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// `n` bytes of words from a fixed xorshift sequence, as text compresses (the same every run).
fn text(n: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "kernel",
        "object",
        "untyped",
        "retype",
        "frame",
        "session",
        "quota",
        "capability",
        "core",
        "child",
        "endpoint",
        "reply",
        "revoke",
        "placement",
        "allocator",
        "dataspace",
    ];
    let mut out = Vec::with_capacity(n + 16);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % 16) as usize].as_bytes());
        out.push(if x.is_multiple_of(11) { b'\n' } else { b' ' });
    }
    out.truncate(n);
    out
}

/// RFC 8259, section 13, the first example.
const RFC8259: &str = r#"{
      "Image": {
          "Width":  800,
          "Height": 600,
          "Title":  "View from 15th Floor",
          "Thumbnail": {
              "Url":    "http://www.example.com/image/481989943",
              "Height": 125,
              "Width":  100
          },
          "Animated" : false,
          "IDs": [116, 943, 234, 38793]
        }
    }"#;
const RFC8259_COMPACT: &str = r#"{"Image":{"Width":800,"Height":600,"Title":"View from 15th Floor","Thumbnail":{"Url":"http://www.example.com/image/481989943","Height":125,"Width":100},"Animated":false,"IDs":[116,943,234,38793]}}"#;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(rename = "Image")]
    image: Image,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Image {
    width: u32,
    height: u32,
    title: String,
    thumbnail: Thumbnail,
    animated: bool,
    #[serde(rename = "IDs")]
    ids: Vec<u32>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Thumbnail {
    url: String,
    height: u32,
    width: u32,
}

fn main(_: usize) -> Result<(), String> {
    let mut c = Checks(0);

    c.published(
        "SHA-256 of \"abc\"",
        &sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    c.published(
        "SHA-256 of the 448-bit message",
        &sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    c.published(
        "SHA-256 of a million `a`",
        &sha256(&vec![b'a'; 1_000_000]),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );

    c.published("CRC-32 of \"123456789\"", &format!("{:08x}", crc32fast::hash(b"123456789")), "cbf43926");

    let original = text(4 << 20);
    let crc = crc32fast::hash(&original);
    let packed = miniz_oxide::deflate::compress_to_vec(&original, 6);
    let unpacked = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, original.len())
        .map_err(|e| format!("inflate failed: {e:?}"))?;
    println!(
        "known-answers: deflate: {} bytes to {} ({:.1} %), inflated back to {}",
        original.len(),
        packed.len(),
        packed.len() as f64 * 100.0 / original.len() as f64,
        unpacked.len()
    );
    c.kept(
        "deflate and inflate of 4 MiB: CRC-32 after",
        &format!("{:08x}", crc32fast::hash(&unpacked)),
        &format!("{crc:08x}"),
    );
    c.kept("deflate and inflate of 4 MiB: bytes after", &format!("{}", unpacked == original), "true");
    c.kept("deflate of 4 MiB of text: under half the size", &format!("{}", packed.len() < original.len() / 2), "true");
    drop((original, packed, unpacked));

    let doc: Document = serde_json::from_str(RFC8259).map_err(|e| format!("JSON: {e}"))?;
    c.published("RFC 8259 example: thumbnail URL", &doc.image.thumbnail.url, "http://www.example.com/image/481989943");
    c.published("RFC 8259 example: IDs", &format!("{:?}", doc.image.ids), "[116, 943, 234, 38793]");
    let compact = serde_json::to_string(&doc).map_err(|e| format!("JSON: {e}"))?;
    c.published("RFC 8259 example written back compact", &compact, RFC8259_COMPACT);
    let bytes = postcard::to_allocvec(&doc).map_err(|e| format!("postcard: {e}"))?;
    let back: Document = postcard::from_bytes(&bytes).map_err(|e| format!("postcard: {e}"))?;
    c.kept(
        "RFC 8259 example through postcard",
        &format!("{} bytes, equal: {}", bytes.len(), back == doc),
        &format!("{} bytes, equal: true", bytes.len()),
    );

    let heap = sel4_runtime::heap::stats();
    println!(
        "known-answers: heap: {} bytes in use, {} of {} bytes taken from core in {} dataspaces",
        heap.allocated, heap.held, heap.limit, heap.grown
    );
    match c.0 {
        0 => {
            println!("known-answers: all checks hold");
            Ok(())
        }
        n => Err(format!("{n} checks failed")),
    }
}
