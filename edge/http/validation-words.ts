/**
 * What a schema refusal says about one field, in both languages: what is expected, naming the
 * field ("SKU 只能用字母、数字和 _.- / SKU may contain only letters, digits and _.-"), never
 * Ajv's own words (`must match pattern "^[A-Za-z0-9_.-]+$"`, 取值无效). Every form's refusal
 * goes through here (edge/http/errors.ts), the shelf page's as much as the review page's.
 */

/** One finding of the schema check, as Ajv gives it. */
export interface ValidationItem {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[]; allowedValue?: unknown; limit?: number; comparison?: string; type?: string; pattern?: string };
}

/** The fields' names as the pages show them. */
const LABELS: Record<string, { zh: string; en: string }> = {
  sku: { zh: 'SKU', en: 'SKU' },
  name: { zh: '名称', en: 'Name' },
  price: { zh: '价格', en: 'Price' },
  unit_g: { zh: '单件重量', en: 'Unit weight' },
  tolerance_g: { zh: '允许误差', en: 'Tolerance' },
  known_g: { zh: '砝码重量', en: 'Known weight' },
  address: { zh: '秤地址', en: 'Scale address' },
  points: { zh: '积分', en: 'Points' },
  count: { zh: '数量', en: 'Count' },
  reason: { zh: '原因', en: 'Reason' },
  resolution: { zh: '处理方式', en: 'Resolution' },
  page: { zh: '页码', en: 'Page' },
  villagers: { zh: '页码', en: 'Page' },
  limit: { zh: '条数', en: 'Limit' },
  username: { zh: '用户名', en: 'Username' },
  password: { zh: '密码', en: 'Password' },
  card_no: { zh: '卡号', en: 'Card number' },
  id: { zh: '编号', en: 'Id' },
  status: { zh: '状态', en: 'Status' },
  month: { zh: '月份', en: 'Month' },
  part: { zh: '内容', en: 'Part' },
};

/** Patterns the pages' forms use, said as what they allow. */
const PATTERNS: Record<string, { zh: string; en: string }> = {
  '^[A-Za-z0-9_.-]+$': { zh: '只能用字母、数字和 _.-', en: 'may contain only letters, digits and _.-' },
  '^[A-Za-z0-9-]+$': { zh: '只能用字母、数字和 -', en: 'may contain only letters, digits and -' },
  '^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$': { zh: '应写成 年-月，如 2026-11', en: 'must be a year and month, e.g. 2026-11' },
};

const list = (v: unknown[] | undefined): string => (v ?? []).map((x) => String(x)).join(', ');

/** What is expected of the field, without its name: `{zh, en}`. */
function expected(v: ValidationItem): { zh: string; en: string } {
  const p = v.params ?? {};
  switch (v.keyword) {
    case 'type':
      if (p.type === 'integer') return { zh: '请填写整数', en: 'enter a whole number' };
      if (p.type === 'number') return { zh: '请填写数字', en: 'enter a number' };
      if (p.type === 'boolean') return { zh: '请选择是或否', en: 'choose yes or no' };
      return { zh: '格式不对', en: `must be ${p.type ?? 'of another kind'}` };
    case 'minimum':
      return { zh: `须不小于 ${p.limit}`, en: `must be at least ${p.limit}` };
    case 'exclusiveMinimum':
      return { zh: `须大于 ${p.limit}`, en: `must be more than ${p.limit}` };
    case 'maximum':
      return { zh: `须不大于 ${p.limit}`, en: `must be at most ${p.limit}` };
    case 'exclusiveMaximum':
      return { zh: `须小于 ${p.limit}`, en: `must be less than ${p.limit}` };
    case 'minLength':
      return p.limit === 1 ? { zh: '不能为空', en: 'must not be empty' } : { zh: `至少 ${p.limit} 个字符`, en: `must be at least ${p.limit} characters` };
    case 'maxLength':
      return { zh: `最多 ${p.limit} 个字符`, en: `must be at most ${p.limit} characters` };
    case 'pattern':
      return PATTERNS[p.pattern ?? ''] ?? { zh: '格式不对', en: 'is not in the expected form' };
    case 'enum':
      return { zh: `须为以下之一：${list(p.allowedValues)}`, en: `must be one of: ${list(p.allowedValues)}` };
    case 'const':
      return { zh: `须为 ${String(p.allowedValue)}`, en: `must be ${String(p.allowedValue)}` };
    case 'anyOf':
    case 'oneOf':
      return { zh: '取值不在允许范围内', en: 'is not one of the accepted values' };
    default:
      return { zh: '取值不在允许范围内', en: v.message ? `is not valid (${v.message})` : 'is not valid' };
  }
}

/** The field's name as the pages show it, in each language. */
export function fieldLabel(field: string): { zh: string; en: string } {
  return LABELS[field] ?? { zh: field, en: field };
}

/** One finding said in both languages, naming the field: `{ message, zh }`. */
export function validationWords(field: string, v: ValidationItem): { message: string; zh: string } {
  const label = fieldLabel(field);
  const e = expected(v);
  // "enter a whole number" reads as an instruction: the field's name before it, as a heading
  const instruction = v.keyword === 'type' && (v.params?.type === 'integer' || v.params?.type === 'number' || v.params?.type === 'boolean');
  // a Latin name (SKU) is spaced from the Chinese that follows, as Chinese text is written
  const gap = /[A-Za-z0-9_]$/.test(label.zh) ? ' ' : '';
  return instruction ? { message: `${label.en}: ${e.en}`, zh: `${label.zh}：${e.zh}` } : { message: `${label.en} ${e.en}`, zh: `${label.zh}${gap}${e.zh}` };
}
