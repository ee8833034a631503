package browser

import (
	"context"
	"time"

	"github.com/go-rod/rod"
)

// A sign-in that failed is recognised without the template saying how the
// site words it, so that a wrong password ends a wait at once instead of
// after the step's whole deadline (and recovery's probes, each a sign-in,
// take seconds, not minutes). It applies to the flows that sign in (login
// and verify) once a secret was typed in them: before that, nothing can
// have failed to sign in.

// signInFailPhrases are how sites say a sign-in failed, lower case: the
// password or the code was wrong, in English, Portuguese, Spanish, French,
// German, Italian, Dutch, Polish, Russian, Turkish, Swedish, Czech,
// Japanese, Chinese and Korean. They are looked for only in short texts
// a page shows as an error, never in the whole page, where help texts
// ("if you enter a wrong password five times...") would match.
var signInFailPhrases = []string{
	// English
	"wrong password", "incorrect password", "invalid password", "password is incorrect", "password is wrong",
	"password is invalid", "password you entered is incorrect", "password was incorrect", "password didn't match",
	"password does not match", "wrong username or password", "incorrect username or password",
	"invalid username or password", "invalid email or password", "incorrect email or password",
	"wrong email or password", "invalid login", "invalid credentials", "incorrect credentials",
	"authentication failed", "login failed", "sign-in failed", "sign in failed", "couldn't sign you in",
	"could not sign you in", "wrong code", "incorrect code", "invalid code", "code is incorrect", "code is invalid",
	"code you entered is incorrect", "invalid verification code", "invalid authentication code",
	// Portuguese
	"senha incorreta", "senha inválida", "senha errada", "usuário ou senha", "usuário e/ou senha",
	"e-mail ou senha", "código inválido", "código incorreto",
	// Spanish
	"contraseña incorrecta", "contraseña no válida", "contraseña inválida", "usuario o contraseña",
	"correo o contraseña", "código incorrecto", "código no válido",
	// French
	"mot de passe incorrect", "mot de passe invalide", "mot de passe erroné", "identifiant ou mot de passe",
	"identifiants incorrects", "code incorrect", "code invalide",
	// German
	"falsches passwort", "passwort ist falsch", "passwort falsch", "ungültiges passwort", "passwort ist ungültig",
	"benutzername oder passwort", "e-mail-adresse oder passwort", "falsches kennwort", "kennwort ist falsch",
	"ungültiger code", "code ist ungültig", "falscher code",
	// Italian
	"password errata", "password non valida", "password non corretta", "nome utente o password", "codice non valido",
	// Dutch
	"onjuist wachtwoord", "wachtwoord is onjuist", "ongeldig wachtwoord", "verkeerd wachtwoord",
	"gebruikersnaam of wachtwoord", "ongeldige code",
	// Polish
	"nieprawidłowe hasło", "błędne hasło", "niepoprawne hasło", "nieprawidłowy login lub hasło", "nieprawidłowy kod",
	// Russian
	"неверный пароль", "неправильный пароль", "неверный логин или пароль", "неверное имя пользователя или пароль",
	"неверный код",
	// Turkish
	"şifre yanlış", "yanlış şifre", "hatalı şifre", "parola yanlış", "hatalı parola", "geçersiz kod",
	// Swedish
	"fel lösenord", "felaktigt lösenord", "ogiltigt lösenord",
	// Czech
	"nesprávné heslo", "špatné heslo", "neplatné heslo",
	// Japanese
	"パスワードが間違って", "パスワードが正しくありません", "パスワードが違います", "認証に失敗", "コードが正しくありません",
	// Chinese
	"密码错误", "密码不正确", "用户名或密码错误", "帐号或密码错误", "账号或密码错误", "验证码错误", "密碼錯誤",
	// Korean
	"비밀번호가 올바르지", "잘못된 비밀번호", "비밀번호가 일치하지", "비밀번호를 잘못",
}

// signInFailJS looks for a failed sign-in on the page: the document came
// with HTTP 401 or 403; a short text shown as an error (an alert, or an
// element whose class or id says error), in the document or an open shadow
// root, holds one of the phrases; or a password field is marked invalid
// (aria-invalid), with the message it names, if any. It returns why, or
// "".
const signInFailJS = `(phrases) => {
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const vis = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
	const nav = performance.getEntriesByType("navigation")[0];
	const status = nav ? nav.responseStatus : 0;
	if (status === 401 || status === 403) return "the site answered HTTP " + status;
	const shown = e => { const t = norm(e.innerText); return t.length > 0 && t.length <= 300 && vis(e) ? t : ""; };
	// The document and its open shadow roots: a component's error is in
	// its own.
	const all = (root, sel) => {
		const out = Array.from(root.querySelectorAll(sel));
		for (const e of root.querySelectorAll("*")) if (e.shadowRoot) out.push(...all(e.shadowRoot, sel));
		return out;
	};
	const errors = all(document, '[role=alert], [aria-live=assertive], [class*=error i], [id*=error i], [class*=alert i], [class*=danger i], [class*=invalid i], [class*=fail i]');
	for (const e of errors) {
		const t = shown(e);
		if (!t) continue;
		const low = t.toLowerCase();
		if (phrases.some(p => low.includes(p))) return 'the page says "' + t.slice(0, 120) + '"';
	}
	for (const f of all(document, 'input[type=password][aria-invalid=true]')) {
		if (!vis(f)) continue;
		let msg = "";
		const root = f.getRootNode();
		for (const id of norm((f.getAttribute("aria-errormessage") || "") + " " + (f.getAttribute("aria-describedby") || "")).split(" ")) {
			const m = id && root.getElementById(id);
			if (m && shown(m)) { msg = shown(m); break; }
		}
		return "the password field came back marked invalid" + (msg ? ': "' + msg.slice(0, 120) + '"' : "");
	}
	return "";
}`

// signInFailure reports whether the page shows that a sign-in failed, and
// why.
func signInFailure(page *rod.Page) (string, bool) {
	ctx, cancel := context.WithTimeout(page.GetContext(), 2*time.Second)
	defer cancel()
	res, err := page.Context(ctx).Eval(signInFailJS, signInFailPhrases)
	if err != nil {
		return "", false
	}
	why := res.Value.Str()
	return why, why != ""
}
