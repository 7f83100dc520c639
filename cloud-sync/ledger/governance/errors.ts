/** Fastify's schema errors as field-level bilingual answers: which field, what is wrong with it. */
interface AjvError { instancePath?: string; keyword?: string; params?: Record<string, unknown>; message?: string }

const FIELD_ZH: Record<string, string> = {
  points: '分值', points_min: '分值下限', points_max: '分值上限', max_claimants: '认领人数上限', title: '标题', item: '积分细则', code: '编号', name: '名称',
  category: '类别', direction: '加减分', evidence: '凭证', cap_count: '次数上限', cap_period: '上限周期', active_from: '启用日期', active_to: '停用日期',
  publish_red_list: '是否公示红榜', red_list_size: '红榜名次数', publish_deeds: '是否公示好人好事', deeds_count: '好人好事条数', publish_totals: '是否公示本月合计',
  name_style: '不署名村民的显示方式', named: '是否署名', staff: '是否工作人员',
  username: '用户名', display_name: '姓名', password: '密码', current_password: '当前密码', password_confirm: '确认密码',
  reason: '理由', note: '说明', request: '提交编号（请重新打开页面）', pin: '密码', villager: '村民编号', village: '村编号', status: '状态', id: '编号', limit: '条数',
  // the body as a whole (an error at its root names no field)
  '': '请求内容',
};

function zhFor(field: string, e: AjvError): string {
  const name = FIELD_ZH[field] ?? field;
  const p = e.params ?? {};
  switch (e.keyword) {
    case 'required': return `缺少字段：${name}`;
    case 'minimum': return `${name}不能小于 ${String(p.limit)}`;
    case 'maximum': return `${name}不能大于 ${String(p.limit)}`;
    case 'minLength': return `${name}太短`;
    case 'maxLength': return `${name}太长`;
    case 'pattern': return `${name}格式不正确`;
    case 'additionalProperties': return `不认识的字段：${String(p.additionalProperty)}`;
    case 'type': return `${name}类型不正确`;
    case 'anyOf': case 'const': case 'enum': return `${name}的取值不在允许范围内`;
    default: return `${name}不正确`;
  }
}

export function validationError(err: unknown): { message: string; zh: string; field?: string } {
  const e = err as { message?: string; validation?: AjvError[] };
  const first = e.validation?.[0];
  if (!first) return { message: e.message ?? 'bad request', zh: '请求内容不正确' };
  const p = first.params ?? {};
  const path = (first.instancePath ?? '').split('/').filter(Boolean);
  const field = first.keyword === 'required' ? String(p.missingProperty) : first.keyword === 'additionalProperties' ? String(p.additionalProperty) : path[path.length - 1] ?? '';
  return { message: e.message ?? 'bad request', zh: zhFor(field, first), ...(field ? { field } : {}) };
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
