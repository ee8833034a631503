package demosite

// The skins below are the other six sites senhasegura's samples were
// written for: a cloud console and five in-house web applications of the
// kind a PAM product rotates (a provisioning system, a network monitor, a
// reporting server, a web service's admin page, a telecom back office).
// Their pages carry the paths, ids, names, button texts and behaviours the
// samples drive, cited by line; what the samples do not show (where a form
// posts, the words of an error, the logout) is made up in the same style.
// None of them has a second factor page of its own: a TOTP user gets the
// generic one, at v1's path.

// awsSkin is the AWS console as AWS-console.psc drives it: the console
// home at /console/home sends a signed-out browser to
// /signin?redirect_uri=... (lines 1, 8), whose one page asks for the
// e-mail (#resolving_input), shows the password (#ap_password) once
// #next_button is clicked, and signs in with #signInSubmit-input (lines
// 10-16). Account settings are at /updateaccount (line 21), which leads to
// /ap/cnep (line 24), where #cnep_1A_change_password_button-input opens
// the form (line 25) that #cnep_1D_submit_button-input saves, confirmed by
// #message_success (lines 30-38).
func awsSkin() *skin {
	return &skin{
		name: "aws", login: "/signin?redirect_uri=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome", loginPost: "/signin",
		pages:  map[stage]string{stageIn: "/console/home"},
		change: "/ap/cnep", logout: "/console/logout!doLogout",
		aliases: map[string]string{"/updateaccount": "/ap/cnep"},
		f: fields{user: "email", pass: "password", code: "code",
			current: "password", new: "passwordNew", confirm: "passwordNewCheck"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "Your authentication information is incorrect. Please try again.",
			"current":     "Your current password is incorrect.",
		},
	}
}

// flowoneSkin is a FlowOne provisioning server (FLOWONE-WEB.psc): the
// sign-in at /sas5 with username, password and a btnauthenticate button
// (lines 1, 7-9), the frames page /sas5/Frames.jsp once signed in (line
// 14), and the password page /sas5/ui_user_servlet/showPassword (line 18)
// with txtOldPassword, txtPassword, txtConfirmPassword and
// btnupdatePassword, confirmed by an .info box (lines 24-34).
func flowoneSkin() *skin {
	return &skin{
		name: "flowone", login: "/sas5", loginPost: "/sas5/Login",
		pages:  map[stage]string{stageIn: "/sas5/Frames.jsp"},
		change: "/sas5/ui_user_servlet/showPassword", logout: "/sas5/Logout",
		f: fields{user: "username", pass: "password", code: "code",
			current: "txtOldPassword", new: "txtPassword", confirm: "txtConfirmPassword"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "Authentication failed: invalid user name or password.",
		},
	}
}

// op5Skin is op5 Monitor (OP5.psc): the sign-in at
// /monitor/index.php/auth/login with #username, #password and a submit
// input (lines 3, 9-11), the tactical overview at
// /monitor/index.php/tac/index/3 (line 15), and
// /monitor/index.php/change_password (line 21) with #current_password,
// #new_password, #confirm_password and #change_password, which says
// "Password changed successfully" in a div (lines 31-40).
func op5Skin() *skin {
	return &skin{
		name: "op5", login: "/monitor/index.php/auth/login", loginPost: "/monitor/index.php/auth/login",
		pages:  map[stage]string{stageIn: "/monitor/index.php/tac/index/3"},
		change: "/monitor/index.php/change_password", logout: "/monitor/index.php/auth/logout",
		f: fields{user: "username", pass: "password", code: "code",
			current: "current_password", new: "new_password", confirm: "confirm_password"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "Login failed - please try again",
		},
	}
}

// reportingSkin is a reporting server (REPORTING.psc): the sign-in at
// /reporting/ with #username, #password and #submit (lines 3-15), a home
// page with the #mySettingsId link (line 19) to
// /reporting/mySettings.ams?source=mySettings (line 23), whose form
// (#currentPass, #userPass, #confirmPass and the page's one submit, lines
// 27-39) posts to /reporting/updateMySettings.ams, which shows a
// div class="alert alert-success" (lines 43-47).
func reportingSkin() *skin {
	return &skin{
		name: "reporting", login: "/reporting/", loginPost: "/reporting/login.ams",
		pages:  map[stage]string{stageIn: "/reporting/home.ams"},
		change: "/reporting/mySettings.ams?source=mySettings", changePost: "/reporting/updateMySettings.ams",
		logout: "/reporting/logout.ams",
		f: fields{user: "username", pass: "password", code: "code",
			current: "currentPass", new: "userPass", confirm: "confirmPass"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "Invalid username or password.",
		},
	}
}

// swsSkin is a web service's admin pages (SWS.psc): the sign-in at
// /SWS/index.php with username, password and a submit input (lines 3,
// 9-11), a "Settings" link on the home page (line 16) to the form with
// password (the current one), password_new, password_confirm and
// userupdatepassword, which says "User password updated successfully"
// (lines 20-29).
func swsSkin() *skin {
	return &skin{
		name: "sws", login: "/SWS/index.php", loginPost: "/SWS/index.php",
		pages:  map[stage]string{stageIn: "/SWS/main.php"},
		change: "/SWS/settings.php", logout: "/SWS/logout.php",
		f: fields{user: "username", pass: "password", code: "code",
			current: "password", new: "password_new", confirm: "password_confirm"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "Wrong username or password",
		},
	}
}

// tsleeSkin is a telecom back office in Portuguese (TSLEE_WEB.psc): the
// sign-in at /WEBP with duser.use_login_name, duser.use_password and an
// organisation chosen in a drop-down (.arrow-combo) that fills the hidden
// duser.use_org_organization_id (lines 1, 7-14); it is required. The
// sign-in posts to /login.init.logic, the home page (line 17), whose
// #link_chgpass (line 19) leads to the form with duser.use_password (the
// current one), use_password_new, use_password_confirmation and
// #btn_chgpass, which says "Sucesso" (lines 23-32).
func tsleeSkin() *skin {
	return &skin{
		name: "tslee", login: "/WEBP", loginPost: "/login.init.logic",
		pages:  map[stage]string{stageIn: "/login.init.logic"},
		change: "/chgpass.init.logic", logout: "/logout.logic",
		require: map[string][]string{"duser.use_org_organization_id": tsleeOrgs},
		f: fields{user: "duser.use_login_name", pass: "duser.use_password", code: "code",
			current: "duser.use_password", new: "use_password_new", confirm: "use_password_confirmation"},
		rules: checkRules,
		msgs: map[string]string{
			"credentials": "Usuário ou senha inválidos.",
			"required":    "Selecione a organização.",
			"current":     "A senha atual está incorreta.",
			"mismatch":    "A nova senha e a confirmação não coincidem.",
			"rules":       "A nova senha deve ter pelo menos 12 caracteres, com letras minúsculas, maiúsculas e números.",
			"reused":      "Essa senha foi usada recentemente. Escolha outra.",
			"limit":       "A senha já foi alterada muitas vezes hoje. Tente novamente amanhã.",
		},
	}
}

// tsleeOrgs are the organisations tslee's drop-down offers.
var tsleeOrgs = []string{"MCOM", "MFIX", "MDADOS"}
