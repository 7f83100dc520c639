/**
 * Fastify's schema errors as field-level bilingual answers: which field, what is wrong with it and
 * what it may be (the values allowed, the limit), said once in each language. Ajv reports a value
 * outside a union of constants once per constant and once more for the union; those are one
 * answer here: "status must be one of: claimed, reported / 状态须为 claimed、reported 之一".
 */
interface AjvError { instancePath?: string; keyword?: string; params?: Record<string, unknown>; message?: string }

const FIELD_ZH: Record<string, string> = {
  points: '分值', points_min: '分值下限', points_max: '分值上限', max_claimants: '认领人数上限', title: '标题', item: '积分细则', code: '编号', name: '名称',
  category: '类别', direction: '加减分', evidence: '凭证', cap_count: '次数上限', cap_period: '上限周期', active_from: '启用日期', active_to: '停用日期',
  publish_red_list: '是否公示红榜', red_list_size: '红榜名次数', publish_deeds: '是否公示好人好事', deeds_count: '好人好事条数', publish_totals: '是否公示本月合计',
  name_style: '不署名村民的显示方式', named: '是否署名', staff: '是否工作人员',
  username: '用户名', display_name: '姓名', password: '密码', current_password: '当前密码', password_confirm: '确认密码',
  reason: '理由', note: '说明', request: '提交编号（请重新打开页面）', pin: '密码', current_pin: '当前密码', pin_confirm: '确认新密码', villager: '村民编号', village: '村编号', status: '状态', id: '编号', limit: '条数',
  table: '表格', from: '起始月份', to: '截止月份', after: '起始编号', kind: '种类', command: '指令', store: '店铺编号', role: '角色', all: '是否列出全部',
  // the body as a whole (an error at its root names no field)
  '': '请求内容',
};

/**
 * A villager's PIN, as the village sets it (PUT …/villagers/:id/pin) and the villager changes it
 * (PUT …/me/pin): 4 to 8 digits, nothing more (the phone page's login says the same).
 */
export const PIN_PATTERN = '^[0-9]{4,8}$';
/** Patterns said in words rather than as a regular expression. */
const PATTERN_SAID: Record<string, { en: string; zh: string }> = { [PIN_PATTERN]: { en: 'must be 4 to 8 digits', zh: '须为 4 到 8 位数字' } };

/** JSON types as a person reads them. */
const TYPE: Record<string, { en: string; zh: string }> = {
  integer: { en: 'a whole number', zh: '整数' }, number: { en: 'a number', zh: '数字' }, string: { en: 'text', zh: '文字' },
  boolean: { en: 'true or false', zh: 'true 或 false' }, object: { en: 'an object', zh: 'JSON 对象' }, array: { en: 'a list', zh: '列表' }, null: { en: 'null', zh: 'null' },
};
const typeOf = (t: unknown): { en: string; zh: string } => {
  const ts = String(t).split(',');
  return { en: ts.map((x) => TYPE[x]?.en ?? x).join(' or '), zh: ts.map((x) => TYPE[x]?.zh ?? x).join('或') };
};

/** What is wrong with `field` by the error `e`, in both languages; `allowed`: the values a union of constants takes. */
function said(field: string, e: AjvError, allowed: readonly unknown[] | undefined): { en: string; zh: string } {
  const en = field || 'the request body';
  const zh = FIELD_ZH[field] ?? field;
  const p = e.params ?? {};
  const n = String(p.limit);
  if (allowed) return { en: `${en} must be one of: ${allowed.map(String).join(', ')}`, zh: `${zh}须为 ${allowed.map(String).join('、')} 之一` };
  switch (e.keyword) {
    case 'required': return { en: `${String(p.missingProperty)} is required`, zh: `缺少字段：${FIELD_ZH[String(p.missingProperty)] ?? String(p.missingProperty)}` };
    case 'additionalProperties': return { en: `${String(p.additionalProperty)} is not a field of this request`, zh: `不认识的字段：${String(p.additionalProperty)}` };
    case 'minimum': return { en: `${en} must be at least ${n}`, zh: `${zh}不能小于 ${n}` };
    case 'maximum': return { en: `${en} must be at most ${n}`, zh: `${zh}不能大于 ${n}` };
    case 'exclusiveMinimum': return { en: `${en} must be more than ${n}`, zh: `${zh}须大于 ${n}` };
    case 'exclusiveMaximum': return { en: `${en} must be less than ${n}`, zh: `${zh}须小于 ${n}` };
    case 'minLength': return p.limit === 1 ? { en: `${en} must not be empty`, zh: `${zh}不能为空` } : { en: `${en} must be at least ${n} characters`, zh: `${zh}至少 ${n} 个字符` };
    case 'maxLength': return { en: `${en} must be at most ${n} characters`, zh: `${zh}不能超过 ${n} 个字符` };
    case 'minItems': return { en: `${en} must list at least ${n}`, zh: `${zh}至少 ${n} 项` };
    case 'maxItems': return { en: `${en} must list at most ${n}`, zh: `${zh}最多 ${n} 项` };
    case 'pattern': {
      const words = PATTERN_SAID[String(p.pattern)];
      return words ? { en: `${en} ${words.en}`, zh: `${zh}${words.zh}` } : { en: `${en} must match ${String(p.pattern)}`, zh: `${zh}格式不正确` };
    }
    case 'format': return { en: `${en} must be a ${String(p.format)}`, zh: `${zh}格式不正确（应为 ${String(p.format)}）` };
    case 'type': {
      const t = typeOf(p.type);
      return { en: `${en} must be ${t.en}`, zh: `${zh}须为${t.zh}` };
    }
    case 'const': return { en: `${en} must be ${String(p.allowedValue)}`, zh: `${zh}须为 ${String(p.allowedValue)}` };
    case 'enum': return said(field, e, Array.isArray(p.allowedValues) ? p.allowedValues : []);
    default: return { en: `${en} ${e.message ?? 'is not valid'}`, zh: `${zh}不正确` };
  }
}

/**
 * The values a union of constants takes, when the failed check is one (Ajv's `const` error per
 * branch, then `anyOf`, at one path), else undefined.
 */
function unionOfConstants(errors: readonly AjvError[], path: string): unknown[] | undefined {
  const here = errors.filter((x) => (x.instancePath ?? '') === path);
  const union = here.findIndex((x) => x.keyword === 'anyOf');
  if (union < 1) return undefined;
  const branches = here.slice(0, union);
  if (!branches.every((x) => x.keyword === 'const' || x.keyword === 'enum')) return undefined;
  return branches.flatMap((x) => (x.keyword === 'const' ? [x.params?.allowedValue] : ((x.params?.allowedValues as unknown[] | undefined) ?? [])));
}

export function validationError(err: unknown): { message: string; zh: string; field?: string } {
  const e = err as { message?: string; validation?: AjvError[] };
  const first = e.validation?.[0];
  if (!first) return { message: e.message ?? 'bad request', zh: '请求内容不正确' };
  const p = first.params ?? {};
  const path = (first.instancePath ?? '').split('/').filter(Boolean);
  const field = first.keyword === 'required' ? String(p.missingProperty) : first.keyword === 'additionalProperties' ? String(p.additionalProperty) : path[path.length - 1] ?? '';
  const r = said(field, first, unionOfConstants(e.validation!, first.instancePath ?? ''));
  return { message: r.en, zh: r.zh, ...(field ? { field } : {}) };
}

/**
 * The code a refusal answers with: a refusal of the caller's role (403) is `FORBIDDEN`, as the
 * plain routes answer it, whichever part of the ledger made it (`fieldError` gives a 403
 * `INVALID_ARGUMENT` unless told otherwise); a 403 of its own kind (`VILLAGER_INACTIVE`, say)
 * keeps its code.
 */
export function refusalCode(status: number, code: string): string {
  return status === 403 && code === 'INVALID_ARGUMENT' ? 'FORBIDDEN' : code;
}

/**
 * Where `value` (a parsed body, the path's parameters, the query) holds a NUL character
 * (U+0000), in a value or a field's name: that field's name ('' for the whole), else undefined.
 * PostgreSQL's text cannot hold one (the query fails) while SQLite stores it, so the API refuses
 * it before either sees it, and both answer the same. Walked without recursion: a JSON body may
 * nest deeper than the stack.
 */
export function nulField(value: unknown): string | undefined {
  const todo: [unknown, string][] = [[value, '']];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [v, field] = next;
    if (typeof v === 'string') {
      if (v.includes('\0')) return field;
    } else if (Array.isArray(v)) {
      for (const x of v) todo.push([x, field]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\0')) return k.replaceAll('\0', '\\u0000');
        todo.push([x, k]);
      }
    }
  }
  return undefined;
}

/** The refusal of a NUL character in `field` (nulField). */
export function nulRefusal(field: string): { message: string; zh: string; field?: string } {
  const name = FIELD_ZH[field] ?? field;
  return {
    message: `${field || 'the request'} holds a NUL character (U+0000), which no text of the ledger may hold; remove it`,
    zh: `${name}含有空字符（U+0000），请删除后重试`,
    ...(field ? { field } : {}),
  };
}
