/**
 * Chinese personal names as a public board may show them. A villager who opted out of being
 * named is shown by the family name only and two stars, whatever the length of the name
 * (张三 → 张**). A compound surname (复姓) is the family name whole: 诸葛志实 → 诸葛**, not 诸**.
 *
 * The compound surnames are those of the 百家姓 (Hundred Family Surnames) that are one family
 * name of two characters, its later lines included (长孙, 百里, 东郭, 南宫, 呼延, 羊舌, 第五, …);
 * the verse's pairs of two single surnames read as one line (仉督, 晋楚, 岳帅, 况后, 言福, …)
 * are not compound surnames and are left out.
 */
export const COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  '万俟', '司马', '上官', '欧阳', '夏侯', '诸葛', '闻人', '东方', '赫连', '皇甫', '尉迟', '公羊',
  '澹台', '公冶', '宗政', '濮阳', '淳于', '单于', '太叔', '申屠', '公孙', '仲孙', '轩辕', '令狐',
  '钟离', '宇文', '长孙', '慕容', '鲜于', '闾丘', '司徒', '司空', '亓官', '司寇', '子车', '颛孙',
  '端木', '巫马', '公西', '漆雕', '乐正', '壤驷', '公良', '拓跋', '夹谷', '宰父', '谷梁', '段干',
  '百里', '东郭', '南门', '呼延', '羊舌', '微生', '梁丘', '左丘', '东门', '西门', '南宫', '第五',
  '伯赏', '归海',
]);

/**
 * 张三 → 张**, 诸葛志实 → 诸葛**: the family name only, and never how long the name is. Only a
 * name of four characters or more keeps a compound surname whole. In a shorter one the pair may
 * be a single surname and the first character of the given name (归海涛 may be 归 and 海涛, 宗政伟
 * 宗 and 政伟: 归, 宗, 乐, 濮, 谷, 万 are single surnames too), and showing it would give away a
 * character of the name of someone who asked not to be named; a name of four characters with a
 * single surname and a given name of three is all but unknown. So 诸葛亮 → 诸**, like 钟离 → 钟**:
 * one character too few is the safe side, the stars must never stand for a name given away.
 */
export function maskName(name: string): string {
  const chars = Array.from(name.trim());
  const two = chars.slice(0, 2).join('');
  const family = chars.length >= 4 && COMPOUND_SURNAMES.has(two) ? two : (chars[0] ?? '某');
  return `${family}**`;
}
