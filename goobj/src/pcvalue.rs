//! Decoder of Go pc-value tables (pcsp, pcfile, pcline, pcdata), as `cmd/internal/obj.PCIter`.
//!
//! A table is a sequence of (value delta: zigzag varint, pc delta: uvarint × pc quantum)
//! pairs; the first value delta is relative to -1; a zero value delta (other than the
//! first) ends the table.

/// One span: `value` holds for pc in `[pc, next_pc)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcSpan {
    pub pc: u32,
    pub next_pc: u32,
    pub value: i32,
}

/// Error in a pc-value table: byte offset in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcValueError {
    pub offset: usize,
}

impl std::fmt::Display for PcValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad varint in pc-value table at byte {}", self.offset)
    }
}

/// Reads a Go `binary.Uvarint`. Returns (value, bytes read) or None on truncation/overflow.
pub fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut s: u32 = 0;
    for (i, &c) in b.iter().enumerate() {
        if i == 10 {
            return None; // overflow
        }
        if c < 0x80 {
            if i == 9 && c > 1 {
                return None; // overflow
            }
            return Some((x | (c as u64) << s, i + 1));
        }
        x |= ((c & 0x7f) as u64) << s;
        s += 7;
    }
    None
}

/// Reads a Go `binary.Varint` (zigzag).
pub fn varint(b: &[u8]) -> Option<(i64, usize)> {
    let (ux, n) = uvarint(b)?;
    let mut x = (ux >> 1) as i64;
    if ux & 1 != 0 {
        x = !x;
    }
    Some((x, n))
}

/// Iterator over the spans of a pc-value table.
#[derive(Debug, Clone)]
pub struct PcIter<'a> {
    p: &'a [u8],
    pos: usize,
    pc: u32,
    value: i32,
    quantum: u32,
    start: bool,
    done: bool,
}

impl<'a> PcIter<'a> {
    pub fn new(table: &'a [u8], pc_quantum: u32) -> PcIter<'a> {
        PcIter {
            p: table,
            pos: 0,
            pc: 0,
            value: -1,
            quantum: pc_quantum,
            start: true,
            done: false,
        }
    }
}

impl Iterator for PcIter<'_> {
    type Item = Result<PcSpan, PcValueError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.p.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let Some((val, n)) = varint(rest) else {
            self.done = true;
            return Some(Err(PcValueError { offset: self.pos }));
        };
        if val == 0 && !self.start {
            self.done = true;
            return None;
        }
        self.pos += n;
        self.start = false;
        self.value = self.value.wrapping_add(val as i32);
        let rest = self.p.get(self.pos..).unwrap_or(&[]);
        let Some((pcd, n)) = uvarint(rest) else {
            self.done = true;
            return Some(Err(PcValueError { offset: self.pos }));
        };
        self.pos += n;
        let pc = self.pc;
        let next_pc = pc.wrapping_add((pcd as u32).wrapping_mul(self.quantum));
        self.pc = next_pc;
        Some(Ok(PcSpan {
            pc,
            next_pc,
            value: self.value,
        }))
    }
}

/// Decodes a whole table.
pub fn decode(table: &[u8], pc_quantum: u32) -> Result<Vec<PcSpan>, PcValueError> {
    PcIter::new(table, pc_quantum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_spans() {
        // value +0 (zigzag 0 from -1 → first delta must be nonzero to start at 0: delta 1 = 0x02),
        // for 4 pcs; then +16 (0x20) for 3 pcs; then -16 (0x1f) for 1 pc; end.
        let t = [0x02, 0x04, 0x20, 0x03, 0x1f, 0x01, 0x00];
        let spans = decode(&t, 1).expect("decode");
        assert_eq!(
            spans,
            vec![
                PcSpan {
                    pc: 0,
                    next_pc: 4,
                    value: 0
                },
                PcSpan {
                    pc: 4,
                    next_pc: 7,
                    value: 16
                },
                PcSpan {
                    pc: 7,
                    next_pc: 8,
                    value: 0
                },
            ]
        );
        // pc quantum scales the pc deltas (arm64: 4).
        assert_eq!(
            decode(&t, 4).expect("decode")[1],
            PcSpan {
                pc: 16,
                next_pc: 28,
                value: 16
            }
        );
    }

    #[test]
    fn bad_varints_are_errors() {
        assert_eq!(decode(&[0x02, 0x80], 1), Err(PcValueError { offset: 1 }));
        assert_eq!(decode(&[0xff; 11], 1), Err(PcValueError { offset: 0 }));
        assert_eq!(decode(&[], 1), Ok(vec![]));
        assert_eq!(
            uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Some((u64::MAX, 10))
        );
        assert_eq!(
            uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            None
        );
        assert_eq!(varint(&[0x03]), Some((-2, 1)));
    }
}
