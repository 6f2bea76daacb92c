//! Byte counts printed in binary units.

/// A byte count in the largest binary unit it reaches, with two decimals
/// when that unit does not divide it exactly.
pub struct Size(pub u128);

impl core::fmt::Display for Size {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        let units = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
        let mut s: heapless::String<48> = heapless::String::new();
        let _ = match units.iter().find(|(_, b)| self.0 >= 1 << b) {
            Some((u, b)) if self.0.is_multiple_of(1 << b) => write!(s, "{} {u}", self.0 >> b),
            Some((u, b)) => {
                let hundredths = (self.0 * 100) >> b;
                write!(s, "{}.{:02} {u}", hundredths / 100, hundredths % 100)
            }
            None => write!(s, "{} B", self.0),
        };
        f.pad(&s)
    }
}
