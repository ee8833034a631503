package demosite

// appSkinPages are the pages of the skins in appskins.go, and any-totp,
// the second-factor page of a skin that draws none of its own. The ids,
// names, classes and texts a sample drives are the sample's (see each
// skin); everything else is only enough of a page to hold them.
const appSkinPages = `
{{define "any-totp"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Verification</title></head><body>
<form method="post" action="/login/totp" id="totp-form">
  <h2>Two-factor authentication</h2>{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
  <label>Authentication code <input id="totp" name="code" inputmode="numeric" autocomplete="one-time-code"></label>
  <button id="verify" type="submit">Verify</button>
</form></body></html>{{end}}

{{define "aws-head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Amazon Web Services Sign-In</title>
<style>body{font-family:Arial,sans-serif;max-width:30em;margin:0 auto}.a-alert-error{color:#c40000}.a-alert-success{color:#067d62}
input,label{display:block;margin:.4em 0}</style></head><body><div id="a-page"><div id="header"><b>aws</b></div>{{end}}
{{define "aws-foot"}}</div></body></html>{{end}}
{{define "aws-nav"}}<div id="nav-menu"><a href="/console/home">Console Home</a> · <a href="/updateaccount?redirect_uri=https%3A%2F%2Fconsole.aws.amazon.com%2Fbilling%2Fhome%23%2Faccount">Account</a> · <a href="/console/logout!doLogout">Sign out</a></div>{{end}}

{{define "aws-login"}}{{template "aws-head" .}}
<form id="signin_form" method="post" action="/signin">
  <h1>Sign in</h1>
  {{with .Error}}<div id="error_message" class="a-alert-error" role="alert">{{.}}</div>{{end}}
  <div id="resolving_input_container">
    <label for="resolving_input">Root user email address</label>
    <input type="text" id="resolving_input" name="email" autocomplete="username" spellcheck="false">
    <button type="button" id="next_button" {{if .Error}}hidden{{end}}
      onclick="document.getElementById('password_container').hidden = false; this.hidden = true">Next</button>
  </div>
  <div id="password_container" {{if not .Error}}hidden{{end}}>
    <label for="ap_password">Password</label>
    <input type="password" id="ap_password" name="password" autocomplete="current-password">
    <span id="signInSubmit" class="a-button"><input id="signInSubmit-input" class="a-button-input" type="submit" value="Sign in"></span>
  </div>
</form>{{template "aws-foot" .}}{{end}}

{{define "aws-home"}}{{template "aws-head" .}}{{template "aws-nav" .}}
<div id="console-home"><h1>Console Home</h1><p>Signed in as {{.User}}.</p></div>{{template "aws-foot" .}}{{end}}

{{define "aws-change"}}{{template "aws-head" .}}{{template "aws-nav" .}}
{{if .OK}}<div id="message_success" class="a-alert-success" role="status">You have successfully modified your account!</div>{{end}}
<div id="cnep_1A" {{if .Error}}hidden{{end}}>
  <h1>Login &amp; security</h1>
  <p>Password: ********</p>
  <span class="a-button"><input id="cnep_1A_change_password_button-input" class="a-button-input" type="button" value="Edit"
    onclick="document.getElementById('cnep_1D').hidden = false; document.getElementById('cnep_1A').hidden = true"></span>
</div>
<form id="cnep_1D" method="post" action="/ap/cnep" {{if not .Error}}hidden{{end}}>
  <h1>Change password</h1>
  {{with .Error}}<div id="auth-error-message-box" class="a-alert-error" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  <label for="ap_password">Current password</label><input type="password" id="ap_password" name="password" autocomplete="current-password">
  <label for="ap_password_new">New password</label><input type="password" id="ap_password_new" name="passwordNew" autocomplete="new-password">
  <label for="ap_password_new_check">Reenter new password</label><input type="password" id="ap_password_new_check" name="passwordNewCheck" autocomplete="new-password">
  <span class="a-button"><input id="cnep_1D_submit_button-input" class="a-button-input" type="submit" value="Save changes"></span>
</form>{{template "aws-foot" .}}{{end}}

{{define "flowone-head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>FlowOne Service Activation</title>
<style>body{font-family:Verdana,sans-serif;margin:1em}.error{color:#b00}.info{color:#060;border:1px solid #060;padding:.3em}
input{display:block;margin:.3em 0}</style></head><body><div class="banner">FlowOne</div>{{end}}
{{define "flowone-foot"}}</body></html>{{end}}
{{define "flowone-nav"}}<div id="menu"><a href="/sas5/Frames.jsp">Orders</a> · <a href="/sas5/ui_user_servlet/showPassword">Change password</a> · <a href="/sas5/Logout">Logout</a></div>{{end}}

{{define "flowone-login"}}{{template "flowone-head" .}}
<form name="loginForm" method="post" action="/sas5/Login">
  {{with .Error}}<div class="error" role="alert">{{.}}</div>{{end}}
  <table><tr><td>User name</td><td><input type="text" name="username"></td></tr>
  <tr><td>Password</td><td><input type="password" name="password"></td></tr></table>
  <button type="submit" name="btnauthenticate" value="login">Login</button>
</form>{{template "flowone-foot" .}}{{end}}

{{define "flowone-home"}}{{template "flowone-head" .}}{{template "flowone-nav" .}}
<iframe name="main" title="Orders" srcdoc="&lt;p&gt;No open orders.&lt;/p&gt;" width="400" height="80"></iframe>
<p>User: {{.User}}</p>{{template "flowone-foot" .}}{{end}}

{{define "flowone-change"}}{{template "flowone-head" .}}{{template "flowone-nav" .}}
<form name="passwordForm" method="post" action="/sas5/ui_user_servlet/showPassword">
  <h3>Change password</h3>
  {{if .OK}}<div class="info" role="status">Password updated.</div>{{end}}
  {{with .Error}}<div class="error" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  <table><tr><td>Old password</td><td><input type="password" name="txtOldPassword"></td></tr>
  <tr><td>New password</td><td><input type="password" name="txtPassword"></td></tr>
  <tr><td>Confirm password</td><td><input type="password" name="txtConfirmPassword"></td></tr></table>
  <button type="submit" name="btnupdatePassword" value="update">Update</button>
</form>{{template "flowone-foot" .}}{{end}}

{{define "op5-head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>op5 Monitor</title>
<style>body{font-family:sans-serif;max-width:40em;margin:0 auto}.alert.error{color:#a00}.alert.success{color:#070}
input{display:block;margin:.3em 0}</style></head><body><div id="header">op5 Monitor</div><div id="content">{{end}}
{{define "op5-foot"}}</div></body></html>{{end}}
{{define "op5-nav"}}<div id="menu"><a href="/monitor/index.php/tac/index/3">Tactical overview</a> · <a href="/monitor/index.php/change_password">Change password</a> · <a href="/monitor/index.php/auth/logout">Log out</a></div>{{end}}

{{define "op5-login"}}{{template "op5-head" .}}
<form action="/monitor/index.php/auth/login" method="post" id="login_form">
  {{with .Error}}<div class="alert error" role="alert">{{.}}</div>{{end}}
  <label for="username">Username</label><input type="text" id="username" name="username">
  <label for="password">Password</label><input type="password" id="password" name="password">
  <input type="submit" value="Login">
</form>{{template "op5-foot" .}}{{end}}

{{define "op5-home"}}{{template "op5-head" .}}{{template "op5-nav" .}}
<h1>Tactical overview</h1><p>Hosts up: 12. Signed in as {{.User}}.</p>{{template "op5-foot" .}}{{end}}

{{define "op5-change"}}{{template "op5-head" .}}{{template "op5-nav" .}}
{{if .OK}}<div class="alert success" role="status">Password changed successfully</div>{{end}}
<form action="/monitor/index.php/change_password" method="post" id="change_password_form">
  <h1>Change password</h1>
  {{with .Error}}<div class="alert error" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  <label for="current_password">Current password</label><input type="password" id="current_password" name="current_password">
  <label for="new_password">New password</label><input type="password" id="new_password" name="new_password">
  <label for="confirm_password">Confirm new password</label><input type="password" id="confirm_password" name="confirm_password">
  <input type="submit" id="change_password" value="Change password">
</form>{{template "op5-foot" .}}{{end}}

{{define "reporting-head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reporting</title>
<style>body{font-family:sans-serif;max-width:40em;margin:0 auto}.alert-danger{color:#a00}.alert-success{color:#070}
input,label{display:block;margin:.3em 0}</style></head><body><div class="navbar">Reporting</div><div class="container">{{end}}
{{define "reporting-foot"}}</div></body></html>{{end}}
{{define "reporting-nav"}}<ul class="nav"><li><a href="/reporting/home.ams">Dashboard</a></li><li><a id="mySettingsId" href="/reporting/mySettings.ams?source=mySettings">My Settings</a></li><li><a href="/reporting/logout.ams">Logout</a></li></ul>{{end}}

{{define "reporting-login"}}{{template "reporting-head" .}}
<form method="post" action="/reporting/login.ams" id="loginForm">
  {{with .Error}}<div class="alert alert-danger" role="alert">{{.}}</div>{{end}}
  <label for="username">Username</label><input type="text" id="username" name="username">
  <label for="password">Password</label><input type="password" id="password" name="password">
  <button id="submit" type="submit">Log in</button>
</form>{{template "reporting-foot" .}}{{end}}

{{define "reporting-home"}}{{template "reporting-head" .}}{{template "reporting-nav" .}}
<h1>Dashboard</h1><p>Welcome, {{.User}}. No scheduled reports.</p>{{template "reporting-foot" .}}{{end}}

{{define "reporting-change"}}{{template "reporting-head" .}}{{template "reporting-nav" .}}
{{if .OK}}<div class="alert alert-success" role="status">Your settings were saved.</div>{{end}}
<form method="post" action="/reporting/updateMySettings.ams" id="mySettingsForm">
  <h1>My Settings</h1>
  {{with .Error}}<div class="alert alert-danger" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  <label for="currentPass">Current password</label><input type="password" id="currentPass" name="currentPass">
  <label for="userPass">New password</label><input type="password" id="userPass" name="userPass">
  <label for="confirmPass">Confirm password</label><input type="password" id="confirmPass" name="confirmPass">
  <input type="submit" value="Save">
</form>{{template "reporting-foot" .}}{{end}}

{{define "sws-head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SWS</title>
<style>body{font-family:sans-serif;max-width:40em;margin:0 auto}.error{color:#a00}.success{color:#070}
input{display:block;margin:.3em 0}</style></head><body><div id="top">SWS</div>{{end}}
{{define "sws-foot"}}</body></html>{{end}}
{{define "sws-nav"}}<div id="menu"><a href="/SWS/main.php">Home</a> | <a href="/SWS/settings.php">Settings</a> | <a href="/SWS/logout.php">Logout</a></div>{{end}}

{{define "sws-login"}}{{template "sws-head" .}}
<form method="post" action="/SWS/index.php">
  {{with .Error}}<div class="error" role="alert">{{.}}</div>{{end}}
  Username <input type="text" name="username">
  Password <input type="password" name="password">
  <input type="submit" value="Login">
</form>{{template "sws-foot" .}}{{end}}

{{define "sws-home"}}{{template "sws-head" .}}{{template "sws-nav" .}}
<p>Welcome {{.User}}</p>{{template "sws-foot" .}}{{end}}

{{define "sws-change"}}{{template "sws-head" .}}{{template "sws-nav" .}}
{{if .OK}}<div class="success" role="status">User password updated successfully</div>{{end}}
<form method="post" action="/SWS/settings.php">
  <h2>User settings</h2>
  {{with .Error}}<div class="error" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  Current password <input type="password" name="password">
  New password <input type="password" name="password_new">
  Confirm password <input type="password" name="password_confirm">
  <input type="submit" name="userupdatepassword" value="Update password">
</form>{{template "sws-foot" .}}{{end}}

{{define "tslee-head"}}<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>WEBP</title>
<style>body{font-family:sans-serif;max-width:36em;margin:0 auto}.erro{color:#a00}.title{font-weight:bold}
input{display:block;margin:.3em 0}.combo{position:relative}.arrow-combo{cursor:pointer;padding:0 .4em;border:1px solid #888}
.combo-list li{cursor:pointer}</style></head><body><div id="cabecalho">WEBP</div>{{end}}
{{define "tslee-foot"}}</body></html>{{end}}
{{define "tslee-nav"}}<div id="menu"><a href="/login.init.logic">Início</a> · <a id="link_chgpass" href="/chgpass.init.logic">Alterar senha</a> · <a href="/logout.logic">Sair</a></div>{{end}}

{{define "tslee-login"}}{{template "tslee-head" .}}
<form id="loginForm" method="post" action="/login.init.logic">
  {{with .Error}}<div class="erro" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  Usuário <input type="text" name="duser.use_login_name">
  Senha <input type="password" name="duser.use_password">
  Organização <div class="combo"><input type="text" class="combo-text" readonly placeholder="Selecione"><span class="arrow-combo"
    onclick="this.parentNode.querySelector('.combo-list').hidden = false">▼</span>
    <ul class="combo-list" hidden>{{range .Options}}<li data-value="{{.}}"
      onclick="var c = this.closest('.combo'); c.querySelector('[type=hidden]').value = this.dataset.value; c.querySelector('.combo-text').value = this.dataset.value; this.parentNode.hidden = true">{{.}}</li>{{end}}</ul>
    <input type="hidden" name="duser.use_org_organization_id" value=""></div>
  <button type="submit">Entrar</button>
</form>{{template "tslee-foot" .}}{{end}}

{{define "tslee-home"}}{{template "tslee-head" .}}{{template "tslee-nav" .}}
<div class="title">Bem-vindo, {{.User}}</div>{{template "tslee-foot" .}}{{end}}

{{define "tslee-change"}}{{template "tslee-head" .}}{{template "tslee-nav" .}}
{{if .OK}}<div class="msg" role="status"><div class="title">Sucesso</div><div>Sucesso: senha alterada.</div></div>{{end}}
<form id="chgpassForm" method="post" action="/chgpass.init.logic">
  <div class="title">Alterar senha</div>
  {{with .Error}}<div class="erro" role="alert" data-reason="{{$.Reason}}">{{.}}</div>{{end}}
  Senha atual <input type="password" name="duser.use_password">
  Nova senha <input type="password" name="use_password_new">
  Confirme a nova senha <input type="password" name="use_password_confirmation">
  <button id="btn_chgpass" type="submit">Alterar</button>
</form>{{template "tslee-foot" .}}{{end}}
`
