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

// A text shown as an error says a sign-in failed when it names what was
// typed (signInSubjects) and says it was wrong (signInFaults), in the same
// few words, in one of 15 languages: "The password you entered is
// incorrect", "A senha inserida está incorreta", "that's not the right
// password", "did not match our records". Both lists are lower case.
// They are looked for only in short texts a page shows as an error, never
// in the whole page, where help texts ("if you enter a wrong password five
// times...") would match.
var (
	signInSubjects = []string{
		"password", "passcode", "username", "user name", "credentials", "login", "log in", "sign in", "sign-in", "code",
		"senha", "usuário", "contraseña", "usuario", "mot de passe", "identifiant", "passwort", "kennwort", "benutzername",
		"nome utente", "wachtwoord", "gebruikersnaam", "hasło", "login lub", "пароль", "логин", "şifre", "parola",
		"lösenord", "heslo", "パスワード", "密码", "密碼", "帐号", "账号", "비밀번호", "código", "codice", "kod", "код",
	}
	signInFaults = []string{
		"wrong", "incorrect", "invalid", "not match", "didn't match", "did not match", "doesn't match", "does not match",
		"not the right", "not correct", "isn't right", "is not right", "failed", "unrecognized", "not recognized",
		"incorret", "inválid", "errad", "no válid", "no coincide", "erroné", "invalide", "falsch", "ungültig",
		"errat", "non valid", "non corrett", "onjuist", "ongeldig", "verkeerd", "nieprawidłow", "błędn", "niepoprawn",
		"неверн", "неправильн", "yanlış", "hatalı", "geçersiz", "fel ", "felaktig", "ogiltig", "nesprávn", "špatn",
		"neplatn", "間違", "正しくありません", "違います", "失敗", "错误", "不正确", "錯誤", "올바르지", "잘못", "일치하지",
	}
)

// signInFailJS looks for a failed sign-in on the page: the document came
// with HTTP 401 or 403; a short text shown as an error (an alert, or an
// element whose class or id says error), in the document or an open shadow
// root, names what was typed and says it was wrong; or a password field is marked invalid
// (aria-invalid), with the message it names, if any. It returns why, or
// "".
const signInFailJS = `(subjects, faults) => {` + deepJS + `
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const vis = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
	const nav = performance.getEntriesByType("navigation")[0];
	const status = nav ? nav.responseStatus : 0;
	if (status === 401 || status === 403) return "the site answered HTTP " + status;
	const shown = e => { const t = norm(e.innerText); return t.length > 0 && t.length <= 300 && vis(e) ? t : ""; };
	// The document and its open shadow roots: a component's error is in
	// its own.
	const errors = deepAll(document, '[role=alert], [aria-live=assertive], [class*=error i], [id*=error i], [class*=alert i], [class*=danger i], [class*=invalid i], [class*=fail i]');
	for (const e of errors) {
		const t = shown(e);
		if (!t) continue;
		const low = t.toLowerCase();
		if (subjects.some(p => low.includes(p)) && faults.some(p => low.includes(p))) return 'the page says "' + t.slice(0, 120) + '"';
	}
	for (const f of deepAll(document, 'input[type=password][aria-invalid=true]')) {
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
	res, err := page.Context(ctx).Eval(signInFailJS, signInSubjects, signInFaults)
	if err != nil {
		return "", false
	}
	why := res.Value.Str()
	return why, why != ""
}
