package demosite

import (
	"html/template"
	"net/http"
)

// Two layouts of the same site: v1, and v2 after a "redesign" with other
// ids, classes and markup for the same fields.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}} - Demo Social</title>
<style>body{font-family:sans-serif;max-width:32em;margin:2em auto}label{display:block;margin:.5em 0}
.error,.alert-danger{color:#a00}.ok,.alert-success{color:#070}img{border:1px solid #888}</style></head><body>
{{if eq .Layout "v2"}}<header class="topbar"><span class="brand">demo&middot;social</span></header><main class="container">{{else}}<h1>Demo Social</h1>{{end}}{{end}}
{{define "foot"}}{{if eq .Layout "v2"}}</main>{{end}}</body></html>{{end}}

{{define "login"}}{{template "head" .}}
{{if eq .Layout "v2"}}
<form class="login-v2" method="post" action="/login">
  <h2>Log in to demo&middot;social</h2>
  {{with .Error}}<div class="alert alert-danger" role="alert">{{.}}</div>{{end}}
  <div class="field"><input id="user-login" name="login" type="text" placeholder="Email or username" autocomplete="username"></div>
  <div class="field"><input id="user-pass" name="secret" type="password" placeholder="Password" autocomplete="current-password"></div>
  <button class="btn btn-primary" type="submit">Log in</button>
</form>
{{else}}
<form id="login-form" method="post" action="/login">
  <h2>Sign in</h2>
  {{with .Error}}<p class="error" id="login-error">{{.}}</p>{{end}}
  <label>Username <input id="username" name="username" type="text" autocomplete="username"></label>
  <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
  <button id="signin" type="submit">Sign in</button>
</form>
{{end}}{{template "foot" .}}{{end}}

{{define "password"}}{{template "head" .}}
{{if eq .Layout "v2"}}<form id="pass-step-v2" class="step" method="post" action="/login/password">
  <p>Hi {{.User}}, now your password.</p>{{with .Error}}<div class="alert alert-danger">{{.}}</div>{{end}}
  <input name="password" type="password" placeholder="Password" autocomplete="current-password">
  <button class="btn btn-primary" type="submit">Continue</button></form>
{{else}}<form id="password-step" method="post" action="/login/password">
  <h2>Enter your password</h2><p>Signing in as {{.User}}</p>{{with .Error}}<p class="error">{{.}}</p>{{end}}
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Next</button></form>{{end}}
{{template "foot" .}}{{end}}

{{define "totp"}}{{template "head" .}}
{{if eq .Layout "v2"}}<form class="mfa" method="post" action="/login/totp">
  <p>Open your authenticator app.</p>{{with .Error}}<div class="alert alert-danger">{{.}}</div>{{end}}
  <input id="otp-code" name="code" inputmode="numeric" autocomplete="one-time-code" placeholder="6-digit code">
  <button class="btn btn-primary" type="submit">Verify</button></form>
{{else}}<form id="totp-form" method="post" action="/login/totp">
  <h2>Two-factor authentication</h2>{{with .Error}}<p class="error">{{.}}</p>{{end}}
  <label>Authentication code <input id="totp" name="code" inputmode="numeric" autocomplete="one-time-code"></label>
  <button id="verify" type="submit">Verify</button></form>{{end}}
{{template "foot" .}}{{end}}

{{define "captcha"}}{{template "head" .}}
<form {{if eq .Layout "v2"}}class="human-check"{{else}}id="captcha-form"{{end}} method="post" action="/captcha">
  <h2>Prove you are human</h2>{{with .Error}}<p class="error">{{.}}</p>{{end}}
  <label><input id="human" name="human" type="checkbox" value="yes"> I'm not a robot</label>
  <p>Type the word in the picture:</p>
  <img id="captcha-image" src="/captcha/image?{{.Nonce}}" width="240" height="80" alt="a word to type">
  <label>Word <input id="captcha-word" name="word" autocomplete="off"></label>
  <button id="captcha-submit" type="submit">Continue</button>
</form>{{template "foot" .}}{{end}}

{{define "trust"}}{{template "head" .}}
<form id="trust-form" method="post" action="/trust">
  <h2>Trust this browser?</h2>
  <p>If you trust it, we won't ask for extra checks here next time.</p>
  <button id="trust-yes" name="choice" value="trust" type="submit">Trust</button>
  <button id="trust-no" name="choice" value="no" type="submit">Not now</button>
</form>{{template "foot" .}}{{end}}

{{define "home"}}{{template "head" .}}
{{if eq .Layout "v2"}}<nav class="menu"><a href="/settings/password">Security</a> <a href="/logout">Log out</a></nav>
<section class="feed"><h2>Hello {{.User}}</h2><p>Nothing new today.</p></section>
{{else}}<p id="welcome">Welcome, {{.User}}!</p>
<ul><li><a id="settings" href="/settings/password">Change password</a></li><li><a id="logout" href="/logout">Sign out</a></li></ul>{{end}}
{{template "foot" .}}{{end}}

{{define "change"}}{{template "head" .}}
{{if eq .Layout "v2"}}<form class="pw-v2" method="post" action="/settings/password">
  <h2>Security &rsaquo; Password</h2>
  {{if .OK}}<div class="alert alert-success" role="status">Your password was updated.</div>{{end}}
  {{with .Error}}<div class="alert alert-danger" data-reason="{{$.Reason}}" role="alert">{{.}}</div>{{end}}
  <input name="current" type="password" placeholder="Current password" autocomplete="current-password">
  <input name="new" type="password" placeholder="New password" autocomplete="new-password">
  <input name="confirm" type="password" placeholder="Repeat new password" autocomplete="new-password">
  <button class="btn btn-primary" type="submit">Update</button></form>
{{else}}<form id="change-form" method="post" action="/settings/password">
  <h2>Change your password</h2>
  {{if .OK}}<p id="pw-ok" class="ok">Password changed.</p>{{end}}
  {{with .Error}}<p id="pw-error" class="error" data-reason="{{$.Reason}}">{{.}}</p>{{end}}
  <label>Current password <input id="current-password" name="current" type="password" autocomplete="current-password"></label>
  <label>New password <input id="new-password" name="new" type="password" autocomplete="new-password"></label>
  <label>Confirm new password <input id="confirm-password" name="confirm" type="password" autocomplete="new-password"></label>
  <button id="save-password" type="submit">Save</button></form>{{end}}
{{if eq .Layout "v2"}}<nav class="menu"><a href="/home">Home</a> <a href="/logout">Log out</a></nav>
{{else}}<p><a href="/home">Back</a> <a id="logout" href="/logout">Sign out</a></p>{{end}}{{template "foot" .}}{{end}}

{{define "locked"}}{{template "head" .}}<p class="error">This account is locked. Contact support.</p>{{template "foot" .}}{{end}}
`))

type pageData struct {
	Title, Layout, User, Error, Reason, Nonce string
	OK                                        bool
	// Options are the values a skin's sign-in offers for its required
	// field (a drop-down's).
	Options []string
}

func (s *Site) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Layout = s.Layout()
	if d.Title == "" {
		d.Title = name
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, d)
}
