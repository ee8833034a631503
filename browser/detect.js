() => {
	// rotator's form-field detector: which inputs of a page take the
	// username, the (current) password, a new password and its
	// confirmation, a one-time code, and which control submits. It reads
	// what a person or a password manager reads: the input's type,
	// autocomplete, inputmode, name, id, placeholder, label, aria
	// attributes, the text before it, the form around it and its buttons'
	// text. Its rules are general ones, in many languages: it is scored on
	// sites it was not tuned on (detect_score_test.go), and a rule for one
	// site would not carry over. It looks into open shadow roots with
	// deepAll, deepText and hostSel (deep.go, defined around it).
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const lower = s => norm(s).toLowerCase();
	// Identifiers as words: "otpCode-0" and "user_name" read "otp Code 0"
	// and "user name".
	const words = s => (s || "").replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_\-.\[\]:]+/g, " ").replace(/([A-Za-z])(\d)/g, "$1 $2");
	// In the page's order, a shadow root's nodes where its host is
	// (compareDocumentPosition does not order nodes of two trees).
	const hostsOf = n => { const c = [n]; for (let h = n.getRootNode().host; h; h = h.getRootNode().host) c.push(h); return c; };
	const before = (a, b) => {
		const hb = hostsOf(b);
		for (const x of hostsOf(a)) {
			const y = hb.find(y => y.getRootNode() === x.getRootNode());
			if (y) return x === y ? x === a && a !== b : Boolean(x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING);
		}
		return false;
	};
	// The parent, from a shadow root's top to its host.
	const up = e => e.parentElement || (e.parentNode && e.parentNode.host) || null;

	// Rendered: it has a box and no style hides it. aria-hidden does not
	// count: it hides from screen readers, not from sight (pages put it on
	// everything behind an open dialog).
	const rendered = e => {
		if (!e.isConnected) return false;
		const r = e.getBoundingClientRect();
		if (r.width < 2 || r.height < 2) return false;
		if (e.checkVisibility) return e.checkVisibility({opacityProperty: true, visibilityProperty: true});
		const s = getComputedStyle(e);
		return s.visibility !== "hidden" && s.display !== "none" && Number(s.opacity) !== 0;
	};

	// Words, in many languages, by what they point to.
	const W = {
		user: /(user.?name|user.?id|userid|\buser\b|login.?id|\blogin\b|log.?in.?name|\baccount\b|account.?(name|id|number)|identifier|\bident\b|member|(customer|client|contract|subscriber).?(id|no|number|nr)|kunden.?(nummer|nr)|vertrags.?(nummer|nr)|契約者?番号|お客様番号|会員番号|usuario|utilisateur|identifiant|benutzer|nutzer|kennung|utente|gebruiker|użytkownik|uzivatel|uživatel|логин|пользовател|учетн|用户|帐号|账号|帳號|ユーザー|アカウント|아이디|사용자|kullanıcı|tài khoản|nome de usu|screen.?name|nick|handle|\bid\b|signin.?id|\bcpf\b|\bcnpj\b)/i,
		email: /(e.?mail|\bmail\b|mail.?address|courriel|correo|почта|邮箱|メール|이메일|e-posta)/i,
		phone: /(phone|mobile|\btel\b|телефон|手机|電話|휴대폰|celular|móvil|handy)/i,
		pass: /(pass.?word|passwd|\bpass\b|\bpwd\b|\bpw\b|contrase|senha|mot.?de.?passe|kennwort|passwort|пароль|密码|密碼|パスワード|비밀번호|şifre|hasło|haslo|heslo|wachtwoord|parola|jelszó|salasana|lösenord|adgangskode|passcode|\bpin\b)/i,
		current: /(current|\bold\b|existing|present|actual|altes|aktuell|bisherig|ancien|actuel|viej|atual|antig|attuale|vecchia|текущ|стар|当前|旧|現在|현재|기존|eski|mevcut|obecne|stare|huidig|oud)/i,
		newp: /(\bnew\b|neues|\bneu|nouveau|nouvel|nuev|nova|novo|nuova|нов|新|새|yeni|nowe|nieuw|create|choose|set.?a|set.?your)/i,
		confirm: /(confirm|repeat|again|retype|re.?type|re.?enter|verif|second|check|bestätig|wiederhol|confirmer|répét|repetir|confirma|ripeti|conferma|повтор|подтвер|确认|再次|確認|再入力|확인|tekrar|potwierd|powtórz|herhaal|bevestig|_2\b|2$|conf\b)/i,
		// Words that say one-time code on their own, and words that say
		// it only when nothing else on the form is a password.
		otp: /(one.?time|\botp\b|totp|\bmfa\b|2fa|two.?factor|2.?step|two.?step|authenticator|verification.?code|security.?code|auth(entication)?.?code|approvals?.?code|sms.?code|access.?code.?sent|einmal|bestätigungscode|code de vérification|código de verificación|código de segurança|codice di verifica|одноразов|код подтвержд|код из смс|验证码|驗證碼|認証コード|確認コード|인증.?번호|doğrulama kodu|kod weryfikacyjny)/i,
		code: /(\bcode\b|\bcodes?\b|token|\bpin\b|passcode|código|codice|\bcodigo\b|\bkod\b|код|인증|doğrulama)/i,
		search: /(search|query|\bq\b|suche|recherche|buscar|поиск|搜索|検索|검색)/i,
		noise: /(newsletter|subscribe|coupon|promo|gift|\bzip\b|postal|city|street|address|country|first.?name|last.?name|full.?name|captcha|birth|company|card|cvv|amount|quantity|comment|message|subject)/i,
		captcha: /(captcha|verify.?image|security.?image|image.?code|pic.?code|img.?code|check.?code|验证|図|画像)/i,
		signIn: /(sign|log|anmeld|connex|login|войти|вход|登录|ログイン|로그인|giriş|entrar|acceder|accedi|account|konto|compte|cuenta|password|continue|next|weiter)/,
	};
	// A word list as a pattern that matches whole Latin words only
	// ("back" is not in "background", "go" not in "google"); words of
	// scripts written without spaces match anywhere.
	const wordList = list => new RegExp("(?<![a-z])(?:" + list.join("|") + ")(?![a-z])", "i");
	const submitWords = {
		yes: wordList(["sign.?in", "log.?in", "log.?on", "sign.?on", "continue", "next", "submit", "enter", "go", "save", "change", "update", "confirm", "verify", "send", "reset", "proceed", "done", "finish", "ok",
			"anmelden", "einloggen", "weiter", "speichern", "ändern", "bestätigen", "connexion", "se connecter", "continuer", "valider", "enregistrer", "suivant",
			"entrar", "iniciar sesión", "iniciar", "acceder", "ingresar", "continuar", "guardar", "siguiente", "cambiar", "accedi", "entra", "salva", "avanti", "conferma", "prosegui",
			"aanmelden", "inloggen", "doorgaan", "volgende", "opslaan", "zaloguj", "dalej", "zapisz", "přihlásit", "avançar", "acessar", "masuk", "đăng nhập", "giriş", "devam", "kaydet", "onayla",
			"войти", "вход", "продолжить", "далее", "сохранить", "подтвердить", "登录", "登入", "登錄", "继续", "下一步", "确定", "提交", "保存", "ログイン", "次へ", "送信", "로그인", "다음", "확인"]),
		no: wordList(["forgot", "reset your", "lost", "create.?account", "sign.?up", "register", "registr[a-z]*", "join", "help", "cancel", "back", "google", "facebook", "apple", "microsoft", "twitter", "github", "linkedin", "sso",
			"passkey", "qr", "show", "hide", "toggle", "remember", "privacy", "terms", "cookies?", "language", "search", "newsletter", "subscribe", "captcha"]),
		// On a form that sets a password, these are its submit.
		signUp: wordList(["sign.?up", "register", "registr[a-z]*", "join", "create[a-z ]*"]),
	};
	const textInputTypes = new Set(["", "text", "email", "tel", "number", "password", "search", "url"]);

	// The text of the elements an aria-labelledby or aria-describedby of
	// e names (in e's document or shadow root).
	const idText = (e, ids) => norm((ids || "").split(/\s+/).map(id => { const l = id && e.getRootNode().getElementById(id); return l ? l.innerText : ""; }).join(" "));
	const labelText = e => {
		const parts = [];
		if (e.labels) for (const l of e.labels) parts.push(l.innerText);
		parts.push(idText(e, e.getAttribute("aria-labelledby")));
		return norm(parts.join(" ")).slice(0, 120);
	};
	// The text just before an input, for forms without labels.
	const precedingText = e => {
		for (let p = e, n = 0; p && n < 3; p = up(p), n++) {
			for (let s = p.previousElementSibling; s; s = s.previousElementSibling) {
				if (s.querySelector && s.querySelector("input, select, textarea")) continue;
				const t = norm(s.innerText || s.textContent);
				if (t) return t.slice(-80);
			}
		}
		return "";
	};
	const describe = e => {
		const a = k => e.getAttribute(k) || "";
		return {
			idn: words([a("name"), e.id, a("data-testid"), a("formcontrolname"), a("ng-model"), a("v-model"), a("data-qa"), a("data-test"), a("data-field")].join(" ")),
			hint: [a("placeholder"), a("aria-label"), a("title"), labelText(e), a("aria-placeholder")].join(" "),
			// What the page says about the field, as a screen reader does.
			about: idText(e, a("aria-describedby")).slice(0, 120),
			near: precedingText(e),
			ac: lower(a("autocomplete")),
			type: lower(e.getAttribute("type") || (e.tagName === "INPUT" ? "text" : e.tagName)),
			mode: lower(a("inputmode")),
			digits: /^(\[0-9\]|\\d)/.test(a("pattern")),
			max: Number(a("maxlength")) || 0,
		};
	};

	// Selectors that find an element alone in its tree (the document or
	// its shadow root), readable first.
	const cssIdent = s => /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s);
	const unique = (sel, scope) => { try { return scope.querySelectorAll(sel).length === 1; } catch (_) { return false; } };
	const quote = s => '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
	const pathTo = e => {
		// A path from the nearest element with an id, or the body (or the
		// top of the shadow root).
		const path = [];
		for (let p = e; p && p !== document.body; p = p.parentElement) {
			if (p !== e && p.id && cssIdent(p.id) && unique("#" + p.id, p.getRootNode())) { path.unshift("#" + p.id); break; }
			const t = p.tagName.toLowerCase();
			const same = p.parentElement ? Array.from(p.parentElement.children).filter(c => c.tagName === p.tagName) : [];
			path.unshift(same.length > 1 ? t + ":nth-of-type(" + (same.indexOf(p) + 1) + ")" : t);
		}
		return path.join(" > ");
	};
	const ownSelectors = e => {
		const tag = e.tagName.toLowerCase(), scope = e.getRootNode();
		const out = [];
		if (e.id && cssIdent(e.id) && unique("#" + e.id, scope)) out.push("#" + e.id);
		for (const k of ["name", "autocomplete", "type"]) {
			const v = e.getAttribute(k);
			if (v && unique(tag + "[" + k + "=" + quote(v) + "]", scope)) out.push(tag + "[" + k + "=" + quote(v) + "]");
		}
		if ((tag === "button" || tag === "a") && out.length === 0) {
			const t = norm(e.innerText).slice(0, 40);
			if (t && !/[()]/.test(t)) out.push(tag + ":contains(" + t + ")");
		}
		if (out.length === 0 && unique(pathTo(e), scope)) out.push(pathTo(e));
		return out.slice(0, 3);
	};
	// In an open shadow root, the chain through its hosts that fill and
	// click follow ("x-app >>> x-login >>> "): "" in the document, null
	// when a host has no selector.
	const chainTo = e => {
		const h = e.getRootNode().host;
		if (!h) return "";
		const outer = chainTo(h), scope = h.getRootNode();
		const part = outer === null ? "" : hostSel(h, s => unique(s, scope)) || ownSelectors(h)[0];
		return part ? outer + part + " >>> " : null;
	};
	const selectorsFor = e => {
		const via = chainTo(e);
		return via === null ? [] : ownSelectors(e).map(s => via + s);
	};

	// The inputs, grouped by form (or by the nearest container with a
	// button, for inputs outside forms); rendered ones and hidden ones
	// apart, so that a hidden field does not change the order of the
	// shown ones.
	const groupOf = e => {
		if (e.form) return e.form;
		let p = up(e);
		for (let i = 0; p && i < 6; i++, p = up(p)) {
			if (deepAll(p, "input").length > 1 && deepAll(p, "button, input[type=submit], input[type=button], [role=button]").length > 0) return p;
		}
		return up(e) || document.body;
	};
	const fieldGroups = () => {
		const groups = new Map();
		for (const e of deepAll(document, "input")) {
			// A <noscript> fallback is not the form people use.
			if (!textInputTypes.has(lower(e.getAttribute("type") || "text")) || e.disabled || e.closest("noscript")) continue;
			const g = groupOf(e), shown = rendered(e);
			const key = groups.get(g) || {g, shown: [], hidden: []};
			(shown ? key.shown : key.hidden).push(e);
			groups.set(g, key);
		}
		return groups;
	};

	const results = [];
	const add = (e, role, score, why) => results.push({el: e, role, score: Math.round(Math.max(0, Math.min(score, 0.99)) * 100) / 100, why});

	// The password fields of a group: type=password, and text fields
	// named nothing but a password (pages that show what is typed).
	const isPassword = (e, d) => d.type === "password" ||
		(d.type === "text" && W.pass.test(d.idn + " " + d.hint) && !/(\bpin\b|passcode|forgot|reset|hint|email|mail|user|login)/i.test(d.idn + " " + d.hint) && !W.otp.test(d.idn + " " + d.hint));

	const buttonTexts = g => deepAll(g, "button, input[type=submit], input[type=button]").map(b => norm(b.tagName === "INPUT" ? b.value : b.innerText));
	// What a form is for, in its own words: the page's title and
	// headings, and what its buttons say. Not its links: a sign-in's
	// "Forgot your password? Reset your password" is not its purpose.
	const purpose = g => lower([document.title, ...deepAll(document, "h1, h2, h3, legend, [role=heading]").slice(0, 8).map(h => h.innerText), ...buttonTexts(g)].join(" "));
	const signInButton = wordList(["sign.?in", "log.?in", "log.?on", "sign.?on", "anmelden", "einloggen", "se connecter", "connexion", "iniciar sesión", "entrar", "accedi", "inloggen", "zaloguj", "přihlásit", "войти", "вход", "登录", "登入", "ログイン", "로그인", "giriş"]);

	// The form is about setting a new password: its purpose says so.
	const changeWords = /(new password|change (your |the )?password|reset (your |the )?password|set (a |your )?(new )?password|choose a (new )?password|create (a )?password|update (your )?password|neues passwort|passwort ändern|nouveau mot de passe|changer (votre |le )?mot de passe|nueva contraseña|cambiar (la |tu )?contraseña|nova senha|alterar (a )?senha|nuova password|cambia (la )?password|salva la tua password|nieuw wachtwoord|nowe hasło|новый пароль|сменить пароль|新密码|修改密码|新しいパスワード|새 비밀번호|yeni şifre)/;

	// Passwords: by autocomplete, words, then position.
	const passwordRoles = (pw, others, info, changeForm) => {
		const roles = new Map();
		if (pw.length === 1) {
			// One password field: the sign-in's, unless the form is about a
			// new password (sites often mark sign-in fields
			// autocomplete=new-password to keep autofill away).
			const e = pw[0], d = info.get(e);
			const named = d.idn + " " + d.hint;
			if (d.ac.includes("current-password")) roles.set(e, ["password", 0.95, "autocomplete=current-password"]);
			else if (W.current.test(named)) roles.set(e, ["password", 0.9, "named like the current password"]);
			else if (W.newp.test(named) || W.confirm.test(named) || (changeForm && others.length === 0)) roles.set(e, ["new_password", 0.75, "the one password field of a new-password form"]);
			else roles.set(e, ["password", d.ac.includes("new-password") ? 0.75 : 0.88, "the form's one password field"]);
			return roles;
		}
		for (const e of pw) {
			const d = info.get(e);
			const named = d.idn + " " + d.hint;
			if (d.ac.includes("current-password")) roles.set(e, ["password", 0.95, "autocomplete=current-password"]);
			else if (d.ac.includes("new-password") && !W.confirm.test(named + " " + d.near)) roles.set(e, ["new_password", 0.9, "autocomplete=new-password"]);
			else if (W.confirm.test(named) && !W.current.test(named)) roles.set(e, ["confirm_password", 0.85, "named like a confirmation"]);
			else if (W.current.test(named)) roles.set(e, ["password", 0.9, "named like the current password"]);
			else if (W.newp.test(named)) roles.set(e, ["new_password", 0.85, "named like a new password"]);
			else if (d.ac.includes("new-password")) roles.set(e, ["new_password", 0.8, "autocomplete=new-password"]);
		}
		// The rest by position: current, new, confirmation.
		const taken = new Set(Array.from(roles.values()).map(r => r[0]));
		const order = pw.length >= 3 ? ["password", "new_password", "confirm_password"] :
			(taken.has("password") ? ["new_password", "confirm_password"] : (taken.has("new_password") ? ["password", "confirm_password"] : ["new_password", "confirm_password"]));
		for (const e of pw) {
			if (roles.has(e)) continue;
			const role = order.find(r => !taken.has(r)) || "confirm_password";
			taken.add(role);
			roles.set(e, [role, 0.6, "password field " + (pw.indexOf(e) + 1) + " of " + pw.length + " in its form"]);
		}
		return roles;
	};

	// Boxes of one digit each, side by side: a code typed a digit a box.
	const digitBoxes = (others, info) => others.filter(e => {
		const d = info.get(e);
		return d.max === 1 || (d.type === "number" && e.getAttribute("max") === "9");
	});

	// One-time codes: autocomplete, then words; a bare "code" only on a
	// form with no password, where it is not a captcha's.
	const otpScore = (e, d, hasPassword, boxes, pageTalk) => {
		const named = d.idn + " " + d.hint + " " + d.about;
		const numeric = d.mode === "numeric" || d.type === "number" || d.type === "tel" || d.digits || (d.max >= 4 && d.max <= 8);
		if (d.ac.includes("one-time-code")) return [0.95, "autocomplete=one-time-code"];
		if ((W.user.test(d.idn) && !W.otp.test(named)) || W.email.test(d.idn) || W.search.test(d.idn) || d.type === "search") return [0, ""];
		if (W.captcha.test(named + " " + d.near) || W.noise.test(named)) return [0, ""];
		if (d.max > 10) return [0, ""];
		if (boxes.length >= 4 && boxes.includes(e)) return [0.85, "one of " + boxes.length + " one-digit boxes"];
		if (W.otp.test(named)) return [numeric ? 0.92 : 0.85, "named like a one-time code"];
		if (hasPassword) return [0, ""];
		if (W.code.test(named) || W.otp.test(d.near)) return [numeric ? 0.85 : 0.75, "named like a code, on a form with no password"];
		if (numeric && d.max >= 4 && d.max <= 8 && W.otp.test(pageTalk)) return [0.7, "a short numeric field on a verification page"];
		return [0, ""];
	};

	// Identity fields: how much a field looks like the username.
	const identityScore = d => {
		const acIdentity = d.ac.split(/\s+/).some(t => t === "username" || t === "email");
		if (!acIdentity && (d.type === "search" || W.search.test(d.idn + " " + d.ac))) return [0, ""];
		const named = d.idn + " " + d.hint;
		// A newsletter's e-mail, even on a sign-in page.
		if (!acIdentity && /(newsletter|subscribe|subscription|infolettre)/i.test(named)) return [0, ""];
		const emailish = d.type === "email" || d.mode === "email" || W.email.test(named);
		// "userPhone" is a phone number; "phone or user name" is not; nor
		// is a tel field named an account or customer number (banks ask
		// for those on a digits keyboard).
		const phone = (d.type === "tel" && !(W.user.test(named) && !W.phone.test(named))) || (W.phone.test(named) && !emailish && !/(user.?name|login|account)/i.test(named));
		let score = 0, why = "";
		if (acIdentity) { score = 0.95; why = "autocomplete=" + d.ac; }
		else if (d.type === "email" || d.mode === "email") { score = 0.85; why = "an e-mail field"; }
		else if (phone) { score = 0.55; why = "a phone number field"; }
		else if (W.user.test(named) || W.email.test(named)) { score = 0.8; why = "named like a user name or e-mail"; }
		else if (W.user.test(d.near) || W.email.test(d.near)) { score = 0.65; why = "after a label like a user name"; }
		else if (d.type === "text" || d.type === "") { score = 0.5; why = "a text field"; }
		if (score > 0 && !acIdentity && !emailish && !W.user.test(named) && W.noise.test(named)) score -= 0.4;
		return [score, why];
	};

	// A form that asks for a name is a sign-up: its e-mail is not a
	// sign-in's username, only a field named a user name is.
	const asksName = (cands, info) => cands.some(e => {
		const d = info.get(e);
		return /(^| )(name|given-name|family-name)( |$)/.test(d.ac) || /(first.?name|last.?name|full.?name|given.?name|family.?name|surname|vorname|nachname|prénom|apellido)/i.test(d.idn + " " + d.hint);
	});
	// A form with no password whose buttons recover a password or change
	// an e-mail is not a sign-in.
	const recovers = g => buttonTexts(g).some(t =>
		/(forgot|recover|reset|request|lost|remind|restore|change e-?mail|vergessen|zurücksetzen|oublié|réinitialiser|olvid|restablecer|esqueci|recuperar|забыли|восстанов)/i.test(t));

	// A box with room for a message (a textarea, not a captcha's) is a
	// contact or comment form.
	const asksMessage = g => Array.from(g.querySelectorAll("textarea")).some(t => rendered(t) && !/captcha/i.test(t.name + " " + t.id));

	// The one text field before a sign-in form's one password field is
	// its username, whatever it is called (a card or contract number).
	const onlyBefore = (cands, pw, info) => {
		if (pw.length !== 1) return null;
		const prior = cands.filter(e => before(e, pw[0]) && !["search", "number"].includes(info.get(e).type));
		return prior.length === 1 ? prior[0] : null;
	};

	// The field is the page's first shown one (search boxes aside), on a
	// page with no shown password: the page's headings speak for its form.
	const leadsPage = e => {
		const shown = Array.from(document.querySelectorAll("input")).filter(i => textInputTypes.has(lower(i.getAttribute("type") || "text")) && rendered(i));
		if (shown.some(i => lower(i.getAttribute("type")) === "password")) return false;
		return shown.find(i => i === e || !(lower(i.getAttribute("type")) === "search" || W.search.test(words(i.name + " " + i.id)))) === e;
	};

	// The username: the identity field before the first password field,
	// or lone identity fields (identifier-first sign-in).
	const usernames = (g, cands, pw, info, gtext) => {
		const firstPw = pw[0];
		const signUp = asksName(cands, info);
		const sole = onlyBefore(cands, pw, info);
		// No password here: a sign-in's first step only when the page
		// speaks of signing in, and not a newsletter or a recovery.
		const signsIn = W.signIn.test(lower(document.title) + " " + gtext) || (cands.length > 0 && leadsPage(cands[0]) && W.signIn.test(purpose(g)));
		const elsewhere = !firstPw && (/(newsletter|subscribe)/.test(gtext) || recovers(g) || asksMessage(g));
		const scored = [];
		for (const e of cands) {
			const d = info.get(e);
			let [score, why] = identityScore(d);
			if (signUp && !d.ac.includes("username") && !W.user.test(d.idn + " " + d.hint)) continue;
			if (e === sole && score < 0.6) { score = 0.6; why = "the one field before the password"; }
			if (score === 0) continue;
			if (firstPw) {
				// Before the password field: likelier.
				if (before(e, firstPw)) score += 0.1;
				else score -= 0.25;
			} else {
				if (!signsIn) score -= 0.3;
				if (elsewhere) score -= 0.5;
				if (cands.length > 2) score -= 0.2;
				if (why === "a text field") score -= 0.2;
			}
			if (score >= 0.45) scored.push({e, score, why});
		}
		if (scored.length === 0) return [];
		const best = scored.reduce((a, b) => b.score > a.score ? b : a);
		// Other fields as sure as the best of them are identities too (an
		// e-mail and its confirmation, a user name and an e-mail).
		return scored.filter(c => c === best || (c.score >= 0.8 && c.score >= best.score - 0.1 && (!firstPw || before(c.e, firstPw))))
			.map(c => c === best ? c : {...c, score: c.score - 0.1, why: c.why + "; another identity field"});
	};

	// One group's fields. hidden: the group's fields are not shown now
	// (a later step, a closed dialog, a trap for robots): only what names
	// itself plainly counts, at a lower score.
	const detectGroup = (g, all, hidden) => {
		const info = new Map(all.map(e => [e, describe(e)]));
		// Decoys ("fakepasswordremembered") soak up a browser's autofill:
		// no one types in them.
		const list = all.filter(e => !/(fake|dummy|decoy|honeypot)/i.test(info.get(e).idn));
		const pw = list.filter(e => isPassword(e, info.get(e)));
		const others = list.filter(e => !pw.includes(e));
		const gtext = lower(deepText(g).slice(0, 2000));
		// A lone password field is a new one when the form is for setting
		// one; a form whose buttons sign in is not, whatever its page says.
		const changeForm = pw.length === 1 && others.length === 0 && changeWords.test(purpose(g)) && !buttonTexts(g).some(t => signInButton.test(t));
		const found = [];
		const put = (e, role, score, why) => found.push([e, role, hidden ? score - 0.3 : score, hidden ? why + " (hidden now)" : why]);
		for (const [e, [role, score, why]] of passwordRoles(pw, others, info, changeForm)) {
			if (info.get(e).type === "password") put(e, role, score, why);
			else put(e, role, score - 0.1, why + " (a text field named like a password)");
		}
		const boxes = digitBoxes(others, info);
		const otp = new Set();
		for (const e of others) {
			const [score, why] = otpScore(e, info.get(e), pw.length > 0, boxes, lower(document.title) + " " + gtext);
			if (score > 0) { put(e, "totp", score, why); otp.add(e); }
		}
		for (const c of usernames(g, others.filter(e => !otp.has(e)), pw, info, gtext)) {
			if (!hidden || c.score >= 0.8) put(c.e, "username", c.score, c.why);
		}
		for (const f of found) add(...f);
		return found.length > 0 && !hidden;
	};

	// Submit controls: the best one for each group with a detected shown
	// field, searched in its form, or ever wider around it.
	const controls = "button, input[type=submit], input[type=image], input[type=button], [role=button], a";
	const submitScore = (b, last, setsPassword) => {
		const tag = b.tagName;
		const type = lower(b.getAttribute("type"));
		const text = lower((tag === "INPUT" ? b.value : b.innerText) + " " + (b.getAttribute("aria-label") || "") + " " + (b.getAttribute("title") || ""));
		const idn = lower(words((b.id || "") + " " + (b.getAttribute("name") || "") + " " + (typeof b.className === "string" ? b.className : "")));
		let score = 0, why = "";
		if ((tag === "BUTTON" && (type === "submit" || (type === "" && b.form))) || (tag === "INPUT" && (type === "submit" || type === "image"))) { score = 0.7; why = "submits the form"; }
		else if (tag === "BUTTON" || b.getAttribute("role") === "button" || (tag === "INPUT" && type === "button")) { score = 0.45; why = "a button"; }
		else if (tag === "A" && !b.getAttribute("href") || /(button|btn)/.test(idn)) { score = 0.4; why = "a link drawn as a button"; }
		else if (tag === "A") { score = 0.2; why = "a link"; }
		if (type === "reset") return [0, ""];
		const says = submitWords.yes.test(text) || submitWords.yes.test(idn);
		if (says) { score += 0.25; why += ", says " + norm(text).slice(0, 30); }
		const signUp = setsPassword && submitWords.signUp.test(text);
		if (signUp && !says) { score += 0.25; why += ", says " + norm(text).slice(0, 30); }
		if (!signUp && (submitWords.no.test(text) || submitWords.no.test(idn) || (tag === "A" && /forgot|reset|help/.test(lower(b.getAttribute("href")))))) score -= 0.5;
		// After the fields: likelier.
		score += before(last, b) ? 0.05 : -0.2;
		return [score, why];
	};
	// The best control, and its twins: controls that say the same and
	// score as well (a page's wide and narrow layouts each have one).
	const bestSubmits = (cands, last, setsPassword) => {
		const scored = [];
		for (const b of cands) {
			if (!rendered(b)) continue;
			const [score, why] = submitScore(b, last, setsPassword);
			if (score >= 0.5) scored.push({b, score, why});
		}
		if (scored.length === 0) return [];
		const best = scored.reduce((a, c) => c.score > a.score ? c : a);
		const says = c => lower(c.b.tagName === "INPUT" ? c.b.value : c.b.innerText);
		return scored.filter(c => c === best || (c.b.tagName === best.b.tagName && says(c) === says(best) && c.score >= best.score - 0.05));
	};
	const submitFor = (g, rs) => {
		const last = rs.map(r => r.el).reduce((a, b) => before(a, b) ? b : a);
		const setsPassword = rs.some(r => r.role === "new_password");
		let scope = g, found = [];
		for (let i = 0; scope && i < 4 && found.length === 0; i++, scope = up(scope)) {
			found = bestSubmits(deepAll(scope, controls), last, setsPassword);
		}
		for (const c of found) add(c.b, "submit", c.score, c.why);
	};

	const shownGroups = [];
	for (const {g, shown, hidden} of fieldGroups().values()) {
		if (shown.length > 0 && detectGroup(g, shown, false)) shownGroups.push(g);
		if (hidden.length > 0) detectGroup(g, hidden, true);
	}
	for (const g of shownGroups) submitFor(g, results.filter(r => groupOf(r.el) === g && r.role !== "submit" && rendered(r.el)));

	return results.map(r => {
		const e = r.el;
		const d = e.tagName === "INPUT" || e.tagName === "TEXTAREA" ? describe(e) : {type: e.tagName.toLowerCase()};
		return {role: r.role, score: r.score, why: r.why, selectors: selectorsFor(e), el: e,
			tag: e.tagName.toLowerCase(), type: d.type || "", label: labelText(e) || (e.getAttribute("placeholder") || "") || norm(e.innerText || e.value || "").slice(0, 40)};
	});
}
