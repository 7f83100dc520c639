/**
 * One bilingual JSON error body for every error the admin page answers:
 * `{ error, message, zh, fields? }`, where `fields` names each form field that is wrong.
 * `refusalOf` makes the body without sending it, so a browser's form can be answered with its
 * page instead (edge/http/form-refusal.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isEdgeError, ErrorCode } from '../errors.ts';
import { fieldLabel, validationWords, type ValidationItem } from './validation-words.ts';

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.UNKNOWN_VILLAGER]: 404,
  [ErrorCode.UNKNOWN_PRODUCT]: 404,
  [ErrorCode.UNKNOWN_SESSION]: 404,
  [ErrorCode.UNKNOWN_SLOT]: 404,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.DUPLICATE_ID]: 409,
  [ErrorCode.ENTRY_ID_TAKEN]: 409,
  [ErrorCode.INSUFFICIENT_POINTS]: 409,
  [ErrorCode.ALREADY_SETTLED]: 409,
  [ErrorCode.SLOT_NOT_EMPTY]: 409,
  [ErrorCode.SCALE_ADDRESS_CONFIGURED]: 409,
  [ErrorCode.SLOT_WITHOUT_SCALE]: 409,
  [ErrorCode.DB_FULL]: 507,
  [ErrorCode.DB_BUSY]: 503,
  [ErrorCode.NO_CONSENT]: 409,
  [ErrorCode.FACE_COLLISION]: 409,
  [ErrorCode.FACE_REJECTED]: 422,
  [ErrorCode.FACE_UNAVAILABLE]: 503,
  [ErrorCode.FACE_LEARNING_REFUSED]: 409,
};

/** The Chinese of a refusal whose thrower gave none: an error body is never English only. */
const ZH_BY_CODE: Partial<Record<string, string>> = {
  [ErrorCode.INVALID_ARGUMENT]: '请求参数有误',
  [ErrorCode.UNKNOWN_VILLAGER]: '没有这位村民',
  [ErrorCode.UNKNOWN_PRODUCT]: '没有这个商品',
  [ErrorCode.UNKNOWN_SESSION]: '没有这次购物或补货记录',
  [ErrorCode.UNKNOWN_SLOT]: '没有这个货位',
  [ErrorCode.NOT_FOUND]: '没有找到',
  [ErrorCode.DUPLICATE_ID]: '编号已存在',
  [ErrorCode.ENTRY_ID_TAKEN]: '流水编号已被另一条记录使用',
  [ErrorCode.INSUFFICIENT_POINTS]: '积分不足',
  [ErrorCode.ALREADY_SETTLED]: '已经结算，不能再更改',
  [ErrorCode.SLOT_NOT_EMPTY]: '货位上还有商品，请先清空并盘点',
  [ErrorCode.SCALE_ADDRESS_CONFIGURED]: '秤地址由配置文件决定，不能在此更改',
  [ErrorCode.SLOT_WITHOUT_SCALE]: '该货位没有秤，放上商品也不会称重扣分',
  [ErrorCode.DB_FULL]: '磁盘已满，无法保存',
  [ErrorCode.DB_BUSY]: '数据库正忙，本次操作未保存，请稍后再试',
  [ErrorCode.NO_CONSENT]: '村民没有同意刷脸',
  [ErrorCode.FACE_COLLISION]: '这张脸与另一位已登记村民太像，不能录入',
  [ErrorCode.FACE_REJECTED]: '照片不能用于录入人脸',
  [ErrorCode.FACE_UNAVAILABLE]: '人脸识别暂时不可用',
  [ErrorCode.FACE_LEARNING_REFUSED]: '该待确认人脸模板不能确认',
};

export type FieldErrors = Record<string, { message: string; zh: string }>;

/** What every error answers: `error` is the code clients branch on; `message` English, `zh` Chinese. */
export interface ErrorBody { error: string; message: string; zh: string; fields?: FieldErrors }
export interface Refusal { status: number; body: ErrorBody }


/**
 * Fields whose refusal says what to do, not only "required": the words a maintainer at the
 * tablet needs beside the box (missing or not an accepted value alike).
 */
const FIELD_WORDS: Record<string, { message: string; zh: string }> = {
  consent: { message: "the villager's consent (or a guardian's, for a child under 14) is needed: ask them, then tick the box", zh: '须经村民本人（14 岁以下由监护人）同意刷脸：请先询问，再勾选此项' },
};

/** Ajv's findings as one entry per field: `/status` → `status`, a missing field under its own name. */
function fieldsOf(validation: ValidationItem[]): FieldErrors {
  const fields: FieldErrors = {};
  const keyOf = (v: ValidationItem): string => (v.params?.missingProperty ?? v.params?.additionalProperty ?? (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.')) || '_';
  for (const found of validation) {
    const key = keyOf(found);
    if (fields[key]) continue;
    // a choice of values (a union of literals) is said as the whole choice, not its first branch
    const consts = validation.filter((x) => keyOf(x) === key && x.keyword === 'const').map((x) => x.params?.allowedValue);
    const v: ValidationItem = found.keyword === 'const' && consts.length > 1 ? { ...found, keyword: 'enum', params: { allowedValues: consts } } : found;
    const words = v.params?.additionalProperty ? undefined : FIELD_WORDS[key];
    fields[key] = words
      ? words
      : v.params?.missingProperty
      ? { message: `${fieldLabel(key).en} is required`, zh: `请填写${fieldLabel(key).zh}` }
      : v.params?.additionalProperty
      ? { message: `${key}: not an accepted field`, zh: `不接受字段 ${key}` }
      : validationWords(key, v);
  }
  return fields;
}

/** No session: the refusal of every route but the public ones. */
export const UNAUTHENTICATED: ErrorBody = { error: 'UNAUTHENTICATED', message: 'sign in first: POST /login with username and password', zh: '请先登录（POST /login，提交用户名和密码）' };

export function refusalOf(err: unknown, req: FastifyRequest): Refusal {
  if (isEdgeError(err)) {
    // a refusal may name its own status and code (an upload: 415 not an image, 422 a bomb)
    const status = typeof err.details?.status === 'number' ? err.details.status : STATUS_BY_CODE[err.code] ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const field = typeof err.details?.field === 'string' ? err.details.field : undefined;
    const zh = err.zh ?? ZH_BY_CODE[err.code] ?? (status >= 500 ? '内部错误' : '请求未能完成');
    // the field's own words when the refusal has them (`fieldMessage`, `fieldZh`), else the refusal's
    const fieldText = { message: typeof err.details?.fieldMessage === 'string' ? err.details.fieldMessage : err.message, zh: typeof err.details?.fieldZh === 'string' ? err.details.fieldZh : zh };
    // several fields at once (`details.fields`, FieldErrors), else the one `field`
    const fields = err.details?.fields !== null && typeof err.details?.fields === 'object' ? (err.details.fields as FieldErrors) : field ? { [field]: fieldText } : undefined;
    return { status, body: { error: typeof err.details?.error === 'string' ? err.details.error : err.code, message: err.message, zh, ...(fields ? { fields } : {}) } };
  }
  const e = err as { statusCode?: number; code?: string; validation?: ValidationItem[]; message: string; error?: string; zh?: string };
  // a form sent without a session, read to its body (./signed-out.ts): to a client, the API's 401
  if (e.code === 'UNAUTHENTICATED' && e.statusCode === 401) return { status: 401, body: UNAUTHENTICATED };
  if (e.code === 'FST_CSRF_MISSING_SECRET' || e.code === 'FST_CSRF_INVALID_TOKEN') {
    return { status: 403, body: { error: 'CSRF_REJECTED', message: 'missing or invalid CSRF token: reload the page (forms carry it in _csrf, API calls in the x-csrf-token header from GET /api/me)', zh: '缺少或无效的防伪令牌（CSRF），请刷新页面后重试' } };
  }
  // the router's refusals, before any route (app.ts frameworkErrors)
  if (e.code === 'FST_ERR_MAX_PARAM_LENGTH') return { status: 414, body: { error: 'URI_TOO_LONG', message: 'a part of the path is too long', zh: '网址中的某一段过长' } };
  if (e.code === 'FST_ERR_BAD_URL') return { status: 400, body: { error: 'INVALID_ARGUMENT', message: 'the path is not a valid URL', zh: '网址格式不正确' } };
  if (e.statusCode === 429) return { status: 429, body: { error: 'RATE_LIMITED', message: e.message, zh: e.zh ?? '请求过于频繁，请稍后再试' } };
  if (e.validation) {
    // the whole refusal says what each field expects, not Ajv's words
    const fields = fieldsOf(e.validation);
    const said = Object.values(fields);
    return { status: 400, body: { error: 'INVALID_ARGUMENT', message: said.map((f) => f.message).join('; ') || e.message, zh: said.map((f) => f.zh).join('；') || '请求参数有误', fields } };
  }
  if (e.statusCode && e.statusCode < 500) {
    if (e.statusCode === 413) return { status: 413, body: { error: 'TOO_LARGE', message: e.message, zh: '提交的内容过大' } };
    if (e.statusCode === 415) return { status: 415, body: { error: 'UNSUPPORTED_MEDIA_TYPE', message: e.message, zh: '不支持这种提交格式（请用 JSON 或表单）' } };
    return { status: e.statusCode, body: { error: 'INVALID_ARGUMENT', message: e.message, zh: '请求参数有误' } };
  }
  req.log.error({ err }, 'request failed');
  return { status: 500, body: { error: 'INTERNAL', message: 'internal error', zh: '内部错误' } };
}

export function errorReply(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const r = refusalOf(err, req);
  return reply.status(r.status).send(r.body);
}

/** What a path no route answers gets (a browser gets it as a page: ./error-page.ts). */
export function notFoundBody(req: FastifyRequest): ErrorBody {
  return { error: 'NOT_FOUND', message: `no such page: ${req.method} ${req.url.split('?')[0]}`, zh: '没有这个页面或接口' };
}

export function notFoundReply(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.status(404).send(notFoundBody(req));
}
