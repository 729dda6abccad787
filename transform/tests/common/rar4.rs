//! A writer of RAR 4 archives for fixtures (the appendix ships as a RAR; no RAR writer is packaged).

/// A RAR 4 archive of stored (uncompressed) members, written as the RAR 4.x technical note lays the
/// format out: marker block, archive header, one file header per member with its data, end block.
/// Each header's CRC is the low 16 bits of the CRC-32 of the header from its type byte on. Names are
/// stored as UTF-8 bytes without the Unicode flag, as a Linux `rar` writes them.
pub fn rar4(members: &[(&str, &[u8])]) -> Vec<u8> {
    let raw: Vec<(&[u8], &[u8])> = members.iter().map(|(n, d)| (n.as_bytes(), *d)).collect();
    rar4_raw_names(&raw)
}

/// [`rar4`] with member names given as the bytes to store (an OEM code page, say).
pub fn rar4_raw_names(members: &[(&[u8], &[u8])]) -> Vec<u8> {
    fn block(kind: u8, flags: u16, body: &[u8]) -> Vec<u8> {
        let size = (7 + body.len()) as u16;
        let mut head = vec![kind];
        head.extend_from_slice(&flags.to_le_bytes());
        head.extend_from_slice(&size.to_le_bytes());
        head.extend_from_slice(body);
        let crc = (crc32fast::hash(&head) & 0xffff) as u16;
        let mut out = crc.to_le_bytes().to_vec();
        out.extend(head);
        out
    }
    let mut out = b"Rar!\x1a\x07\x00".to_vec();
    out.extend(block(0x73, 0, &[0; 6]));
    for (name, data) in members {
        let mut body = Vec::new();
        body.extend_from_slice(&(data.len() as u32).to_le_bytes()); // packed size
        body.extend_from_slice(&(data.len() as u32).to_le_bytes()); // unpacked size
        body.push(3); // host OS: Unix
        body.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        body.extend_from_slice(&0x5a21_0000u32.to_le_bytes()); // DOS time: 2025-01-01
        body.push(29); // version needed: 2.9
        body.push(0x30); // method: store
        body.extend_from_slice(&(name.len() as u16).to_le_bytes());
        body.extend_from_slice(&0o100644u32.to_le_bytes()); // attributes
        body.extend_from_slice(name);
        out.extend(block(0x74, 0x8000, &body));
        out.extend_from_slice(data);
    }
    out.extend(block(0x7b, 0x4000, &[]));
    out
}
