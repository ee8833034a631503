package rotator

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// httptestChange changes a demo user's password through plain HTTP, as a
// browser that crashed after submitting would have.
func httptestChange(e *env, name, old, new string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(e.srv.URL+"/login", url.Values{"username": {name}, "password": {old}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if !strings.HasSuffix(resp.Request.URL.Path, "/home") {
		return resp.Request.URL.Path, fmt.Errorf("sign-in failed")
	}
	resp, err = c.PostForm(e.srv.URL+"/settings/password", url.Values{"current": {old}, "new": {new}, "confirm": {new}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.Status, fmt.Errorf("change failed")
	}
	return "", nil
}
