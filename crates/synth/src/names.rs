//! Place names: two syllables picked by number, so that neighbours never share a name.

const SYLLABLES: [char; 48] = [
    '安', '宁', '平', '和', '兴', '新', '东', '西', '南', '北', '石', '河', '山', '川', '龙', '凤',
    '清', '泉', '长', '青', '柳', '杨', '桥', '湾', '沟', '坪', '岭', '塘', '丰', '裕', '康', '泰',
    '金', '银', '红', '白', '黄', '林', '松', '梅', '花', '高', '云', '明', '永', '福', '德', '春',
];

/// A two-syllable name for number `n`; `salt` varies the pattern between levels.
pub fn place(n: usize, salt: usize) -> String {
    let k = SYLLABLES.len();
    let i = (n + salt * 7919) % (k * k);
    [SYLLABLES[i / k], SYLLABLES[(i % k + salt) % k]]
        .iter()
        .collect()
}
