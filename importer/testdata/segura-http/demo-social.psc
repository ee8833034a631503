# A hand-written template in senhasegura's HTTP dialect, for the demo
# site's v1 layout (`rotator demo-site`): it posts the forms without a
# browser; rotator imports it into browser steps.
get http://127.0.0.1:8080/login
fill-form username [#USERNAME#]
fill-form password [#CURRENT_PASSWORD#]
submit
expect Welcome

new-action
get http://127.0.0.1:8080/settings/password
fill-form current [#CURRENT_PASSWORD#]
fill-form new [#NEW_PASSWORD#]
fill-form confirm [#NEW_PASSWORD#]
select-button Save
submit
expect Password changed

new-action
get http://127.0.0.1:8080/logout

new-action
get http://127.0.0.1:8080/login
fill-form username [#USERNAME#]
fill-form password [#NEW_PASSWORD#]
submit
expect Welcome
