package console

import (
	"io/fs"
	"net/http"
)

// routes lists the console's whole surface. Every page but sign-in and the
// static files needs a session; every POST a CSRF token.
func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/signin", c.handleSigninForm)
	m.HandleFunc("POST /console/signin", c.handleSignin)
	m.Handle("POST /console/signout", c.signedIn(c.handleSignout))
	m.Handle("GET /console/{$}", c.signedIn(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"tasks", http.StatusSeeOther)
	}))

	m.Handle("GET /console/tasks", c.signedIn(c.handleTasks))
	m.Handle("GET /console/tasks/{id}", c.signedIn(c.handleTask))

	m.Handle("GET /console/webhooks", c.signedIn(c.handleWebhooks))
	m.Handle("POST /console/webhooks", c.signedIn(c.handleCreateWebhook))
	m.Handle("GET /console/webhooks/{id}", c.signedIn(c.handleWebhook))
	m.Handle("POST /console/webhooks/{id}/{action}", c.signedIn(c.handleWebhookAction))
	m.Handle("POST /console/webhooks/{id}/deliveries/{msg}/redeliver", c.signedIn(c.handleRedeliver))

	m.Handle("GET /console/notifications", c.signedIn(c.handleNotifications))
	m.Handle("GET /console/events", c.signedIn(c.handleEvents))
	if c.stream != nil {
		m.Handle("GET /console/events/stream", c.signedIn(c.stream.ServeHTTP))
	}
	m.Handle("GET /console/health", c.signedIn(c.handleHealth))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", page{Title: "Not found", Error: "There is no such page."})
	})
	c.mux = m
}
