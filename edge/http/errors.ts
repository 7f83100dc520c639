/**
 * One bilingual JSON error body for every error the admin page answers:
 * `{ error, message, zh, fields? }`, where `fields` names each form field that is wrong.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isEdgeError, ErrorCode } from '../errors.ts';

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.UNKNOWN_VILLAGER]: 404,
  [ErrorCode.UNKNOWN_PRODUCT]: 404,
  [ErrorCode.UNKNOWN_SESSION]: 404,
  [ErrorCode.UNKNOWN_SLOT]: 404,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.DUPLICATE_ID]: 409,
  [ErrorCode.INSUFFICIENT_POINTS]: 409,
  [ErrorCode.ALREADY_SETTLED]: 409,
  [ErrorCode.DB_FULL]: 507,
  [ErrorCode.NO_CONSENT]: 409,
  [ErrorCode.FACE_COLLISION]: 409,
  [ErrorCode.FACE_REJECTED]: 422,
  [ErrorCode.FACE_UNAVAILABLE]: 503,
};

type FieldErrors = Record<string, { message: string; zh: string }>;

interface ValidationItem { instancePath?: string; message?: string; params?: { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] } }

/** Ajv's findings as one entry per field: `/status` → `status`, a missing field under its own name. */
function fieldsOf(validation: ValidationItem[]): FieldErrors {
  const fields: FieldErrors = {};
  for (const v of validation) {
    const name = v.params?.missingProperty ?? v.params?.additionalProperty ?? (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const key = name || '_';
    if (fields[key]) continue;
    fields[key] = v.params?.missingProperty
      ? { message: 'required', zh: '必填' }
      : v.params?.additionalProperty
      ? { message: 'not an accepted field', zh: '不接受此字段' }
      : { message: v.message ?? 'not valid', zh: '取值无效' };
  }
  return fields;
}

export function errorReply(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isEdgeError(err)) {
    // a refusal may name its own status and code (an upload: 415 not an image, 422 a bomb)
    const status = typeof err.details?.status === 'number' ? err.details.status : STATUS_BY_CODE[err.code] ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const field = typeof err.details?.field === 'string' ? err.details.field : undefined;
    return reply.status(status).send({ error: typeof err.details?.error === 'string' ? err.details.error : err.code, message: err.message, zh: err.zh ?? null, ...(field ? { fields: { [field]: { message: err.message, zh: err.zh ?? err.message } } } : {}) });
  }
  const e = err as { statusCode?: number; code?: string; validation?: ValidationItem[]; message: string; error?: string; zh?: string };
  if (e.code === 'FST_CSRF_MISSING_SECRET' || e.code === 'FST_CSRF_INVALID_TOKEN') {
    return reply.status(403).send({ error: 'CSRF_REJECTED', message: 'missing or invalid CSRF token: reload the page (forms carry it in _csrf, API calls in the x-csrf-token header from GET /api/me)', zh: '缺少或无效的防伪令牌（CSRF），请刷新页面后重试' });
  }
  if (e.statusCode === 429) return reply.status(429).send({ error: 'RATE_LIMITED', message: e.message, zh: e.zh ?? '请求过于频繁，请稍后再试' });
  if (e.validation) {
    return reply.status(400).send({ error: 'INVALID_ARGUMENT', message: e.message, zh: '请求参数有误', fields: fieldsOf(e.validation) });
  }
  if (e.statusCode && e.statusCode < 500) {
    return reply.status(e.statusCode).send({ error: e.statusCode === 413 ? 'TOO_LARGE' : 'INVALID_ARGUMENT', message: e.message, zh: e.statusCode === 413 ? '提交的内容过大' : '请求参数有误' });
  }
  req.log.error({ err }, 'request failed');
  return reply.status(500).send({ error: 'INTERNAL', message: 'internal error', zh: '内部错误' });
}

export function notFoundReply(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.status(404).send({ error: 'NOT_FOUND', message: `no such page: ${req.method} ${req.url.split('?')[0]}`, zh: '没有这个页面或接口' });
}
