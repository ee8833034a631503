() => {
	// rotator's form-field detector: which inputs of a page take the
	// username, the (current) password, a new password and its
	// confirmation, a one-time code, and which control submits. It reads
	// what a person or a password manager reads: the input's type,
	// autocomplete, name, id, placeholder, label, aria attributes, the
	// form around it and its submit controls' text.
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const lower = s => norm(s).toLowerCase();
	const visible = e => {
		if (!e.isConnected) return false;
		const r = e.getBoundingClientRect();
		const s = getComputedStyle(e);
		if (s.visibility === "hidden" || s.display === "none" || Number(s.opacity) === 0) return false;
		if (r.width < 2 || r.height < 2) return false;
		for (let p = e; p; p = p.parentElement) {
			if (p.hidden || p.getAttribute("aria-hidden") === "true") return false;
		}
		return true;
	};
	const textInputTypes = new Set(["", "text", "email", "tel", "number", "password", "search", "url"]);

	// Words, in many languages, by what they point to.
	const W = {
		user: /(user.?name|user.?id|userid|\buser\b|login.?id|\blogin\b|log.?in.?name|account.?(name|id)?|identifier|\bident\b|member|customer.?(id|number)|client.?id|usuario|utilisateur|benutzer|nutzer|utente|gebruiker|użytkownik|uzivatel|логин|пользовател|учетн|用户|帐号|账号|帳號|ユーザー|アカウント|아이디|사용자|kullanıcı|tài khoản|nome de usu|login.?name|screen.?name|nick|handle|\bid\b|signin.?id|username)/i,
		email: /(e.?mail|courriel|correo|почта|邮箱|メール|이메일|e-posta)/i,
		phone: /(phone|mobile|\btel\b|телефон|手机|電話|휴대폰|celular|móvil|handy)/i,
		pass: /(pass.?word|passwd|\bpass\b|\bpwd\b|\bpw\b|contrase|senha|mot.?de.?passe|kennwort|passwort|пароль|密码|密碼|パスワード|비밀번호|şifre|hasło|heslo|wachtwoord|parola|passcode|\bpin\b)/i,
		current: /(current|\bold\b|existing|present|actual|altes|aktuell|ancien|actuel|viej|atual|текущ|стар|当前|旧|現在|現在の|기존|현재|eski|mevcut|obecne)/i,
		newp: /(\bnew\b|neues|nouveau|nuev|nova|novo|нов|新|새|yeni|nowe|create|choose|set.?a|set.?your)/i,
		confirm: /(confirm|repeat|again|retype|re.?type|re.?enter|verif|second|check|bestätig|wiederhol|confirmer|répét|repetir|confirma|повтор|подтвер|确认|再次|確認|再入力|확인|tekrar|potwierd|_2\b|2$|conf\b)/i,
		otp: /(one.?time|\botp\b|totp|\bmfa\b|2fa|two.?factor|2.?step|verification.?code|security.?code|auth(entication)?.?code|approvals?.?code|passcode|sms.?code|\bcode\b|token|código|codice|код|验证码|認証コード|인증|doğrulama)/i,
		search: /(search|query|\bq\b|suche|recherche|buscar|поиск|搜索|検索|검색)/i,
		noise: /(newsletter|subscribe|coupon|promo|gift|zip|postal|city|street|address|first.?name|last.?name|full.?name|captcha|birth|company|card|cvv|amount|quantity|comment|message|subject)/i,
		submitText: /(sign.?in|log.?in|log.?on|sign.?on|continue|next|submit|enter|go\b|save|change|update|confirm|verify|send|reset|proceed|anmelden|einloggen|weiter|speichern|connexion|se connecter|continuer|valider|enregistrer|entrar|iniciar|acceder|continuar|guardar|accedi|войти|вход|продолжить|далее|сохранить|登录|登入|继续|下一步|ログイン|次へ|保存|로그인|다음|giriş|devam|zaloguj|dalej|inloggen|doorgaan|ok\b)/i,
		notSubmit: /(forgot|reset your|create.?account|sign.?up|register|join|help|cancel|back|google|facebook|apple|microsoft|twitter|github|linkedin|sso|passkey|qr|show|hide|toggle|remember|privacy|terms|cookie|language|search|newsletter|subscribe)/i,
	};

	const labelText = e => {
		const parts = [];
		if (e.labels) for (const l of e.labels) parts.push(l.innerText);
		const by = e.getAttribute("aria-labelledby");
		if (by) for (const id of by.split(/\s+/)) { const l = document.getElementById(id); if (l) parts.push(l.innerText); }
		return norm(parts.join(" ")).slice(0, 120);
	};
	// The text just before an input, for forms without labels.
	const precedingText = e => {
		let p = e, n = 0;
		while (p && n < 3) {
			let s = p.previousElementSibling;
			while (s) {
				if (!s.querySelector || !s.querySelector("input, select, textarea")) {
					const t = norm(s.innerText || s.textContent);
					if (t) return t.slice(-80);
				}
				s = s.previousElementSibling;
			}
			p = p.parentElement; n++;
		}
		return "";
	};
	// Identifiers as words: "otpCode-0" and "user_name" read "otp Code 0"
	// and "user name".
	const words = s => (s || "").replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_\-.\[\]:]+/g, " ").replace(/([A-Za-z])(\d)/g, "$1 $2");
	const describe = e => {
		const a = k => e.getAttribute(k) || "";
		return {
			idn: words([a("name"), e.id, a("data-testid"), a("formcontrolname"), a("ng-model"), a("v-model"), a("data-qa"), a("data-test")].join(" ")),
			hint: [a("placeholder"), a("aria-label"), a("title"), labelText(e), a("aria-placeholder")].join(" "),
			near: precedingText(e),
			cls: typeof e.className === "string" ? e.className : "",
			ac: lower(a("autocomplete")),
			type: lower(e.getAttribute("type") || (e.tagName === "INPUT" ? "text" : e.tagName)),
			mode: lower(a("inputmode")),
			max: Number(a("maxlength")) || 0,
		};
	};

	// A unique selector for an element, readable first.
	const cssIdent = s => /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s);
	const unique = sel => { try { return document.querySelectorAll(sel).length === 1; } catch (_) { return false; } };
	const quote = s => '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
	const selectorsFor = e => {
		const tag = e.tagName.toLowerCase();
		const out = [];
		if (e.id && cssIdent(e.id) && unique("#" + e.id)) out.push("#" + e.id);
		const name = e.getAttribute("name");
		if (name && unique(tag + "[name=" + quote(name) + "]")) out.push(tag + "[name=" + quote(name) + "]");
		const ac = e.getAttribute("autocomplete");
		if (ac && unique(tag + "[autocomplete=" + quote(ac) + "]")) out.push(tag + "[autocomplete=" + quote(ac) + "]");
		const type = e.getAttribute("type");
		if (type && unique(tag + "[type=" + quote(type) + "]")) out.push(tag + "[type=" + quote(type) + "]");
		if ((tag === "button" || tag === "a") && out.length === 0) {
			const t = norm(e.innerText).slice(0, 40);
			if (t && !/[()]/.test(t)) out.push(tag + ":contains(" + t + ")");
		}
		if (out.length === 0) {
			// A path from the nearest element with an id, or the body.
			const path = [];
			for (let p = e; p && p !== document.body; p = p.parentElement) {
				if (p !== e && p.id && cssIdent(p.id) && unique("#" + p.id)) { path.unshift("#" + p.id); break; }
				const t = p.tagName.toLowerCase();
				const same = p.parentElement ? Array.from(p.parentElement.children).filter(c => c.tagName === p.tagName) : [];
				path.unshift(same.length > 1 ? t + ":nth-of-type(" + (same.indexOf(p) + 1) + ")" : t);
			}
			const sel = path.join(" > ");
			if (unique(sel)) out.push(sel);
		}
		return out.slice(0, 3);
	};

	// Candidate inputs, grouped by form (or by nearest container for
	// inputs outside forms).
	const inputs = Array.from(document.querySelectorAll("input, textarea")).filter(e => {
		const t = lower(e.getAttribute("type") || "text");
		return (e.tagName === "TEXTAREA" ? false : textInputTypes.has(t)) && !e.disabled && visible(e);
	});
	const groupOf = e => {
		if (e.form) return e.form;
		let p = e.parentElement;
		for (let i = 0; p && i < 6; i++, p = p.parentElement) {
			if (p.querySelectorAll("input").length > 1 && p.querySelector("button, input[type=submit], [role=button]")) return p;
		}
		return e.parentElement || document.body;
	};
	const groups = new Map();
	for (const e of inputs) {
		const g = groupOf(e);
		if (!groups.has(g)) groups.set(g, []);
		groups.get(g).push(e);
	}

	const results = [];
	const add = (e, role, score, why) => results.push({el: e, role, score: Math.round(Math.min(score, 0.99) * 100) / 100, why});

	for (const [g, list] of groups) {
		const pw = list.filter(e => lower(e.getAttribute("type")) === "password");
		const others = list.filter(e => lower(e.getAttribute("type")) !== "password");
		const info = new Map(list.map(e => [e, describe(e)]));
		const gtext = lower((g.innerText || "").slice(0, 2000));

		// Passwords: by autocomplete, words, then position.
		const roles = new Map();
		const pageText = lower(document.title + " " + gtext);
		const changePage = /(new password|change (your |the )?password|reset (your |the )?password|set (a |your )?(new )?password|choose a (new )?password|neues passwort|nouveau mot de passe|nueva contraseña|nova senha|новый пароль|新密码|新しいパスワード|새 비밀번호)/.test(pageText);
		if (pw.length === 1) {
			// One password field: the sign-in's, unless the page is about a
			// new password (sites often mark sign-in fields
			// autocomplete=new-password to keep autofill away).
			const e = pw[0], d = info.get(e);
			const named = d.idn + " " + d.hint;
			if (d.ac.includes("current-password")) roles.set(e, ["password", 0.95, "autocomplete=current-password"]);
			else if (W.current.test(named)) roles.set(e, ["password", 0.9, "named like the current password"]);
			else if (W.newp.test(named) || W.confirm.test(named) || (changePage && others.length === 0)) roles.set(e, ["new_password", 0.75, "the one password field of a new-password form"]);
			else roles.set(e, ["password", d.ac.includes("new-password") ? 0.75 : 0.88, "the form's one password field"]);
		}
		for (const e of pw) {
			if (roles.has(e)) continue;
			const d = info.get(e);
			const words = d.idn + " " + d.hint + " " + d.near;
			if (d.ac.includes("current-password")) roles.set(e, ["password", 0.95, "autocomplete=current-password"]);
			else if (d.ac.includes("new-password") && !W.confirm.test(words)) roles.set(e, ["new_password", 0.9, "autocomplete=new-password"]);
			else if (W.confirm.test(d.idn + " " + d.hint) && !W.current.test(d.idn + " " + d.hint)) roles.set(e, ["confirm_password", 0.85, "named like a confirmation"]);
			else if (W.current.test(d.idn + " " + d.hint)) roles.set(e, ["password", 0.9, "named like the current password"]);
			else if (W.newp.test(d.idn + " " + d.hint)) roles.set(e, ["new_password", 0.85, "named like a new password"]);
			else if (d.ac.includes("new-password")) roles.set(e, ["new_password", 0.8, "autocomplete=new-password"]);
		}
		const unset = pw.filter(e => !roles.has(e));
		if (unset.length > 0) {
			// By position: current, new, confirmation.
			const taken = new Set(Array.from(roles.values()).map(r => r[0]));
			const order = pw.length >= 3 ? ["password", "new_password", "confirm_password"] :
				(taken.has("password") ? ["new_password", "confirm_password"] : (taken.has("new_password") ? ["password", "confirm_password"] : ["new_password", "confirm_password"]));
			for (const e of unset) {
				const role = order.find(r => !taken.has(r)) || "confirm_password";
				taken.add(role);
				roles.set(e, [role, 0.6, "password field " + (pw.indexOf(e) + 1) + " of " + pw.length + " in its form"]);
			}
		}
		for (const [e, [role, score, why]] of roles) add(e, role, score, why);

		// One-time codes.
		const otp = new Set();
		for (const e of others) {
			const d = info.get(e);
			const words = d.idn + " " + d.hint + " " + d.near;
			let score = 0, why = "";
			if (d.ac.includes("one-time-code")) { score = 0.95; why = "autocomplete=one-time-code"; }
			else if (W.otp.test(d.idn + " " + d.hint) && !W.search.test(d.idn) && !W.noise.test(d.idn + " " + d.hint)) {
				score = 0.75; why = "named like a one-time code";
				if (d.mode === "numeric" || d.type === "number" || (d.max >= 4 && d.max <= 8)) { score = 0.88; why += ", numeric"; }
			}
			else if ((d.mode === "numeric" || d.type === "number") && d.max >= 4 && d.max <= 8 && pw.length === 0 && W.otp.test(words + " " + gtext)) { score = 0.7; why = "a short numeric field on a verification page"; }
			if (score > 0 && !W.user.test(d.idn) && !W.email.test(d.idn)) { add(e, "totp", score, why); otp.add(e); }
		}

		// The username: what comes before the first password field, or a
		// lone identifier field (identifier-first sign-in).
		const firstPw = pw[0];
		const hasOther = others.filter(e => !otp.has(e));
		let best = null;
		const strong = [];
		for (const e of hasOther) {
			const d = info.get(e);
			const acIdentity = d.ac.split(/\s+/).some(t => t === "username" || t === "email");
			if (!acIdentity && (d.type === "search" || W.search.test(d.idn + " " + d.ac))) continue;
			const words = d.idn + " " + d.hint;
			let score = 0, why = "";
			if (acIdentity) { score = 0.95; why = "autocomplete=" + d.ac; }
			else if (d.type === "email") { score = 0.85; why = "an e-mail field"; }
			else if (W.user.test(words) || W.email.test(words)) { score = 0.8; why = "named like a user name or e-mail"; }
			else if (d.type === "tel" || W.phone.test(words)) { score = 0.55; why = "a phone number field"; }
			else if (W.user.test(d.near) || W.email.test(d.near)) { score = 0.65; why = "after a label like a user name"; }
			else if (firstPw && d.type === "text") { score = 0.5; why = "a text field in a sign-in form"; }
			if (score === 0) continue;
			if (W.noise.test(d.idn + " " + d.hint) && !d.ac.includes("username")) score -= 0.4;
			if (firstPw) {
				// Before the password field, close to it: likelier.
				if (e.compareDocumentPosition(firstPw) & Node.DOCUMENT_POSITION_FOLLOWING) score += 0.1;
				else score -= 0.25;
			} else {
				// No password in this group: a sign-in's first step only
				// when the page speaks of signing in, and not a newsletter.
				const page = lower(document.title + " " + gtext);
				if (!/(sign|log|anmeld|connex|login|войти|вход|登录|ログイン|로그인|giriş|entrar|acceder|accedi|account|konto|compte|cuenta|password|continue|next|weiter)/.test(page)) score -= 0.3;
				if (/(newsletter|subscribe)/.test(gtext)) score -= 0.5;
				if (hasOther.length > 2) score -= 0.2;
			}
			if (score < 0.45) continue;
			strong.push({e, score, why});
			if (!best || score > best.score) best = {e, score, why};
		}
		if (best) add(best.e, "username", best.score, best.why);
		// A sign-up form asks for a user name and an e-mail: both are
		// identities when both are named so.
		for (const c of strong) if (c.e !== best.e && c.score >= 0.8 && pw.length >= 2) add(c.e, "username", c.score - 0.1, c.why + "; a second identity field");
	}

	// Submit controls: one per group that has a detected field.
	const fieldsByGroup = new Map();
	for (const r of results) {
		const g = groupOf(r.el);
		if (!fieldsByGroup.has(g)) fieldsByGroup.set(g, []);
		fieldsByGroup.get(g).push(r);
	}
	for (const [g, rs] of fieldsByGroup) {
		const last = rs.map(r => r.el).reduce((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING) ? b : a);
		let scope = g;
		let cands = Array.from(scope.querySelectorAll("button, input[type=submit], input[type=image], input[type=button], [role=button], a[href]"));
		if (scope.tagName !== "FORM" && cands.length === 0 && scope.parentElement) {
			scope = scope.parentElement;
			cands = Array.from(scope.querySelectorAll("button, input[type=submit], input[type=image], input[type=button], [role=button]"));
		}
		let best = null;
		for (const b of cands) {
			if (!visible(b) || b.disabled && b.tagName !== "INPUT") { if (!visible(b)) continue; }
			const tag = b.tagName;
			const type = lower(b.getAttribute("type"));
			const text = lower((tag === "INPUT" ? b.value : b.innerText) + " " + (b.getAttribute("aria-label") || "") + " " + (b.getAttribute("title") || ""));
			const idn = lower((b.id || "") + " " + (b.getAttribute("name") || "") + " " + (typeof b.className === "string" ? b.className : ""));
			let score = 0, why = "";
			if ((tag === "BUTTON" && (type === "submit" || (type === "" && b.form))) || (tag === "INPUT" && (type === "submit" || type === "image"))) { score = 0.7; why = "submits the form"; }
			else if (tag === "BUTTON" || b.getAttribute("role") === "button" || (tag === "INPUT" && type === "button")) { score = 0.45; why = "a button"; }
			else if (tag === "A") { score = 0.2; why = "a link"; }
			if (W.submitText.test(text) || W.submitText.test(idn)) { score += 0.25; why += ", says " + norm(text).slice(0, 30); }
			if (W.notSubmit.test(text) || W.notSubmit.test(idn) || (tag === "A" && /forgot|reset|help/.test(lower(b.getAttribute("href"))))) score -= 0.5;
			if (type === "reset") score = 0;
			// After the fields, and near them.
			if (last.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING) score += 0.05; else score -= 0.2;
			if (score >= 0.5 && (!best || score > best.score)) best = {b, score, why};
		}
		if (best) add(best.b, "submit", best.score, best.why);
	}

	return results.map(r => {
		const e = r.el;
		const d = e.tagName === "INPUT" || e.tagName === "TEXTAREA" ? describe(e) : {type: e.tagName.toLowerCase()};
		return {role: r.role, score: r.score, why: r.why, selectors: selectorsFor(e), el: e,
			tag: e.tagName.toLowerCase(), type: d.type || "", label: labelText(e) || (e.getAttribute("placeholder") || "") || norm(e.innerText || e.value || "").slice(0, 40)};
	});
}
