package demosite

import "html/template"

// skinPages are the skins' pages, named SKIN-PAGE: PAGE is login, home,
// change, changed, or the stage a page asks for (totp, captcha). The field
// names, ids, paths and button texts are the ones senhasegura's templates
// drive (see each skin); the rest is only enough of a page to hold them.
var skinPages = template.Must(template.Must(template.New("").Parse(socialSkinPages)).Parse(appSkinPages))

// socialSkinPages are the pages of facebook, twitter and linkedin.
const socialSkinPages = `
{{define "facebook-head"}}<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Facebook</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:30em;margin:0 auto}#header{background:#3b5998;color:#fff;padding:.5em}
input{display:block;margin:.4em 0;width:100%}[role=alert]{color:#a00}[role=status]{color:#070}</style></head>
<body><div id="viewport"><div id="header"><a href="/home.php" style="color:#fff"><b>facebook</b></a></div><div id="root" role="main">{{end}}
{{define "facebook-foot"}}</div></div></body></html>{{end}}
{{define "facebook-nav"}}<div id="mJewelNav"><a href="/home.php">Página inicial</a> · <a href="/settings/account/?password">Configurações</a> · <a href="/logout.php">Sair</a></div>{{end}}

{{define "facebook-login"}}{{template "facebook-head" .}}
<form method="post" action="/login.php" id="login_form" novalidate="1">
  {{with .Error}}<div id="login_error" role="alert">{{.}}</div>{{end}}
  <input type="text" name="email" id="m_login_email" placeholder="Celular ou email" autocomplete="username">
  <input type="password" name="pass" id="m_login_password" placeholder="Senha" autocomplete="current-password">
  <input type="submit" name="login" value="Entrar">
</form>{{template "facebook-foot" .}}{{end}}

{{define "facebook-totp"}}{{template "facebook-head" .}}
<form method="post" action="/checkpoint/?next" id="checkpoint_form">
  <h2>Autenticação de dois fatores necessária</h2>
  <p>Insira o código de 6 dígitos do seu aplicativo de autenticação.</p>
  {{with .Error}}<div id="approvals_code_error" role="alert">{{.}}</div>{{end}}
  <input type="text" id="approvals_code" name="approvals_code" placeholder="Código de login" inputmode="numeric" autocomplete="off">
  <button type="submit" id="checkpointSubmitButton" name="submit[Submit Code]" value="Continuar">Continuar</button>
</form>{{template "facebook-foot" .}}{{end}}

{{define "facebook-captcha"}}{{template "facebook-head" .}}
<form method="post" action="/checkpoint/?next" id="checkpoint_form">
  <h2>Verificação de segurança</h2>
  <div id="captcha"><img src="/captcha/image?{{.Nonce}}" width="240" height="80" alt="texto de segurança"></div>
  {{with .Error}}<div role="alert">{{.}}</div>{{end}}
  <input type="text" name="captcha_response" placeholder="Digite o texto acima" autocomplete="off">
  <button type="submit" id="checkpointSubmitButton" name="submit[Continue]" value="Continuar">Continuar</button>
</form>{{template "facebook-foot" .}}{{end}}

{{define "facebook-home"}}{{template "facebook-head" .}}{{template "facebook-nav" .}}
<div id="m_news_feed_stream"><p>Olá, {{.User}}. Nenhuma novidade hoje.</p></div>{{template "facebook-foot" .}}{{end}}

{{define "facebook-change"}}{{template "facebook-head" .}}{{template "facebook-nav" .}}
{{if .OK}}<div id="password_changed" role="status">Sua senha foi alterada.</div>{{end}}
<form method="post" action="/settings/account/?password" id="password_change_form">
  <h2>Alterar senha</h2>
  {{with .Error}}<div id="password_error" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  <input type="password" name="old_password" placeholder="Senha atual" autocomplete="current-password">
  <input type="password" name="new_password" placeholder="Nova senha" autocomplete="new-password">
  <input type="password" name="confirm_password" placeholder="Digite a nova senha novamente" autocomplete="new-password">
  <input type="submit" name="save" value="Salvar alterações">
</form>{{template "facebook-foot" .}}{{end}}

{{define "twitter-head"}}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Twitter</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:30em;margin:0 auto}.errors{color:#a00}input{display:block;margin:.4em 0}</style></head>
<body><div id="container"><div class="header"><b>Twitter</b></div>{{end}}
{{define "twitter-foot"}}</div></body></html>{{end}}
{{define "twitter-nav"}}<div class="nav"><a href="/home">Home</a> · <a href="/settings">Settings</a> · <a href="/logout">Log out</a></div>{{end}}

{{define "twitter-login"}}{{template "twitter-head" .}}
<form action="/sessions" method="post" class="signin-form">
  <div class="title">Log in to Twitter</div>
  {{with .Error}}<div class="message"><div class="errors">{{.}}</div></div>{{end}}
  <input type="text" name="session[username_or_email]" id="session[username_or_email]" placeholder="Phone, email or username" autocomplete="username">
  <input type="password" name="session[password]" id="session[password]" placeholder="Password" autocomplete="current-password">
  <input type="submit" name="commit" value="Log in" class="button">
</form>{{template "twitter-foot" .}}{{end}}

{{define "twitter-totp"}}{{template "twitter-head" .}}
<form action="/account/login_verification" method="post" id="login-verification-form">
  <div class="title">Enter your verification code</div>
  <p>Use your code generator app to generate a code and enter it below.</p>
  {{with .Error}}<div class="message"><div class="errors">{{.}}</div></div>{{end}}
  <input type="hidden" name="challenge_type" value="Totp">
  <input type="text" id="challenge_response" name="challenge_response" inputmode="numeric" autocomplete="one-time-code">
  <input type="submit" id="email_challenge_submit" value="Submit" class="button">
</form>{{template "twitter-foot" .}}{{end}}

{{define "twitter-home"}}{{template "twitter-head" .}}{{template "twitter-nav" .}}
<div class="timeline"><p>@{{.User}}: what's happening?</p></div>{{template "twitter-foot" .}}{{end}}

{{define "twitter-changed"}}{{template "twitter-head" .}}{{template "twitter-nav" .}}
<div class="settings"><div class="title">Settings</div>
<ul><li><a href="/settings/password">Password</a></li><li><a href="/logout">Log out</a></li></ul></div>{{template "twitter-foot" .}}{{end}}

{{define "twitter-change"}}{{template "twitter-head" .}}{{template "twitter-nav" .}}
<form action="/settings/password" method="post" class="password-form">
  <div class="title">Password</div>
  {{with .Error}}<div class="message"><div class="errors" data-reason="{{$.Reason}}">{{.}}</div></div>{{end}}
  <label>Current password <input type="password" name="settings[current_password]" id="settings_current_password" autocomplete="current-password"></label>
  <label>New password <input type="password" name="settings[password]" id="settings_password" autocomplete="new-password"></label>
  <label>Verify password <input type="password" name="settings[password_confirmation]" id="settings_password_confirmation" autocomplete="new-password"></label>
  <input type="submit" name="commit" value="Save changes" class="button">
</form>{{template "twitter-foot" .}}{{end}}

{{define "linkedin-head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>LinkedIn</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:36em;margin:0 auto}.error,.body__banner--error{color:#a00}.success{color:#070}
input,label{display:block;margin:.4em 0}</style></head><body><div id="header"><b>LinkedIn</b></div><div id="body" role="main">{{end}}
{{define "linkedin-foot"}}</div></body></html>{{end}}
{{define "linkedin-nav"}}<div id="nav"><a href="/nhome/?trk=">Home</a> · <a href="/psettings/change-password">Change password</a> · <a href="/m/logout/">Sign Out</a></div>{{end}}

{{define "linkedin-login"}}{{template "linkedin-head" .}}
<form action="/uas/login-submit" method="POST" name="login" id="login">
  <h1>Sign in</h1>
  {{with .Error}}<div id="global-alert-queue"><div class="alert error" role="alert"><p><strong>{{.}}</strong></p></div></div>{{end}}
  <label for="session_key-login">Email address</label><input type="text" name="session_key" id="session_key-login" autocomplete="username">
  <label for="session_password-login">Password</label><input type="password" name="session_password" id="session_password-login" autocomplete="current-password">
  <input type="submit" name="signin" value="Sign In" class="btn-primary" id="btn-primary">
</form>{{template "linkedin-foot" .}}{{end}}

{{define "linkedin-totp"}}{{template "linkedin-head" .}}
<form id="two-step-challenge" method="post" action="/checkpoint/challenge/verify">
  <h1>Two-step verification</h1>
  <p>Enter the code from your authenticator app.</p>
  {{with .Error}}<span class="body__banner--error" role="alert">{{.}}</span>{{end}}
  <input id="input__phone_verification_pin" class="form__input--text input_verification_pin" name="pin" type="text" maxlength="6" inputmode="numeric">
  <button id="two-step-submit-button" class="form__submit" type="submit">Verify</button>
</form>{{template "linkedin-foot" .}}{{end}}

{{define "linkedin-home"}}{{template "linkedin-head" .}}{{template "linkedin-nav" .}}
<div id="feed"><p>Welcome, {{.User}}!</p></div>{{template "linkedin-foot" .}}{{end}}

{{define "linkedin-change"}}{{template "linkedin-head" .}}{{template "linkedin-nav" .}}
<form method="POST" action="/psettings/change-password" id="change-password-form">
  <h2>Change password</h2>
  {{if .OK}}<p class="success" role="status">Your password was changed.</p>{{end}}
  {{with .Error}}<p class="error" data-reason="{{$.Reason}}">{{.}}</p>{{end}}
  <label for="cp-current-pw">Type your current password</label><input id="cp-current-pw" name="oldPassword" type="password" autocomplete="current-password">
  <label for="cp-new-pw">Type your new password</label><input id="cp-new-pw" name="newPassword" type="password" autocomplete="new-password">
  <label for="cp-repeat-pw">Retype your new password</label><input id="cp-repeat-pw" name="newPasswordConfirm" type="password" autocomplete="new-password">
  <button id="save-new-password" class="save" type="submit" disabled>Save</button>
</form>{{template "linkedin-foot" .}}{{end}}
`
