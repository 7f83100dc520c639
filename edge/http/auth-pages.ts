/** The login and first-run setup pages (Chinese first, English beside). Every value is escaped. */
import { esc } from './admin-sections.ts';
import { layout } from './pages.ts';

export type FieldErrors = Record<string, { message: string; zh: string }>;

const fieldError = (errors: FieldErrors, name: string): string => {
  const e = errors[name];
  return e ? `<div class="field-error" data-field="${esc(name)}">${esc(e.zh)} / ${esc(e.message)}</div>` : '';
};

/**
 * `notice`: why the sign-in is asked again (a form sent after signing out); `kept`: that form's
 * values (./signed-out.ts), sent with the login so its page shows them again.
 */
export function loginPage(d: { storeName: string; csrf: string; next: string; username?: string; error?: { message: string; zh: string }; notice?: { en: string; zh: string }; kept?: string | undefined }): string {
  return layout(
    `${d.storeName} · 登录`,
    `<h1>${esc(d.storeName)} · 管理登录 <small>Sign in</small></h1>
${d.notice ? `<p class="bad" id="login-notice" role="alert">${esc(d.notice.zh)}<br>${esc(d.notice.en)}</p>` : ''}
${d.error ? `<p class="bad" id="login-error">${esc(d.error.zh)} / ${esc(d.error.message)}</p>` : ''}
<form class="login" method="post" action="/login">
<input type="hidden" name="_csrf" value="${esc(d.csrf)}"><input type="hidden" name="next" value="${esc(d.next)}">${d.kept ? `<input type="hidden" name="kept" value="${esc(d.kept)}">` : ''}
<label for="username">用户名 Username</label><input id="username" name="username" autocomplete="username" required maxlength="32" value="${esc(d.username ?? '')}">
<label for="password">密码 Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="200">
<p><button type="submit">登录 Sign in</button></p></form>`,
  );
}

export function setupPage(d: { storeName: string; csrf: string; token: string; values?: Record<string, string>; errors?: FieldErrors }): string {
  const v = d.values ?? {};
  const errors = d.errors ?? {};
  const role = v.role === 'village_admin' ? 'village_admin' : 'maintainer';
  return layout(
    `${d.storeName} · 首次设置`,
    `<h1>${esc(d.storeName)} · 首次设置 <small>First-run setup</small></h1>
<p>创建第一个管理账号。系统没有默认密码。<br>Create the first admin account; there is no default password.</p>
<form class="login" method="post" action="/setup">
<input type="hidden" name="_csrf" value="${esc(d.csrf)}"><input type="hidden" name="token" value="${esc(d.token)}">
<label for="username">用户名 Username（2–32 位小写字母、数字、. _ -）</label><input id="username" name="username" autocomplete="username" required maxlength="32" value="${esc(v.username ?? '')}">${fieldError(errors, 'username')}
<label for="display_name">姓名 Name</label><input id="display_name" name="display_name" required maxlength="100" value="${esc(v.display_name ?? '')}">${fieldError(errors, 'display_name')}
<label for="role">角色 Role</label><select id="role" name="role"><option value="maintainer"${role === 'maintainer' ? ' selected' : ''}>门店维护员 Maintainer</option><option value="village_admin"${role === 'village_admin' ? ' selected' : ''}>村管理员 Village admin</option></select>${fieldError(errors, 'role')}
<label for="password">密码 Password（至少 10 位）</label><input id="password" name="password" type="password" autocomplete="new-password" required maxlength="200">${fieldError(errors, 'password')}
<label for="password_confirm">再次输入密码 Repeat password</label><input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" required maxlength="200">${fieldError(errors, 'password_confirm')}
<p><button type="submit">创建账号 Create account</button></p></form>`,
  );
}

/** A page that only says something (setup closed, link needed). */
export function messagePage(storeName: string, title: string, zh: string, en: string, link?: { href: string; text: string }): string {
  return layout(`${storeName} · ${title}`, `<h1>${esc(storeName)} · ${esc(title)}</h1><p id="message">${esc(zh)}<br>${esc(en)}</p>${link ? `<p><a href="${esc(link.href)}">${esc(link.text)}</a></p>` : ''}`);
}
