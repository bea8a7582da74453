package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/cliq/cliqtest"
	"github.com/taskerhq/tasker/internal/redistest"
)

func runTestDoctor(t *testing.T, cfg config, cfgErr error, env provisionEnv) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := doctor(context.Background(), cfg, cfgErr, env, &out)
	return out.String(), err
}

func TestDoctorAllPass(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	srv.AddChannel("devtasks")
	cfg.CliqChannel = "devtasks"
	mustInstall(t, cfg, env, false)
	out, err := runTestDoctor(t, cfg, nil, env)
	if err != nil || strings.Contains(out, "✗") || !strings.Contains(out, "all checks pass") {
		t.Errorf("doctor = %v:\n%s", err, out)
	}
	for _, want := range []string{"✓ redis version", "✓ redis persistence: AOF on", "✓ oauth: an access token", "✓ bot: the bot taskerbot exists",
		"✓ channel: the channel devtasks exists", "✓ clock", "✓ public URL"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorFailuresNameTheFix(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	srv.GrantScopes("ZohoCliq.Bots.READ", "ZohoCliq.Functions.READ", "ZohoCliq.MessageActions.READ")
	cfg.CliqChannel = "nosuchchannel"
	cfg.PublicURL = "http://localhost:8080"
	clock := cliqtest.NewClock(env.now().Add(2 * time.Minute)) // this host runs two minutes fast
	env.now = clock.Now
	env.sleep = func(_ context.Context, d time.Duration) error {
		clock.Advance(d)
		return nil
	}
	out, err := runTestDoctor(t, cfg, nil, env)
	if err == nil {
		t.Errorf("doctor with failures = nil error, want one (exit status 1)")
	}
	for _, want := range []string{
		"✗ oauth scopes: the token lacks ZohoCliq.Commands.READ, ZohoCliq.Channels.READ\n    fix: generate a new grant code",
		"✗ bot: no bot with unique name taskerbot is visible to the token's user\n    fix: run tasker install",
		"✗ public URL: public URL is not https",
		"✗ clock: this host's clock is 2m0s off Zoho's\n    fix: synchronise the clock",
		"✓ oauth: an access token can be had",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "✗") != strings.Count(out, "fix: ") {
		t.Errorf("a ✗ line without its fix:\n%s", out)
	}
}

func TestDoctorBadCredentialsAndNoRedis(t *testing.T) {
	_, cfg, env := newTestInstall(t)
	cfg.CliqClientSecret = "wrong"
	rdb, closeRedis, err := newRedis(context.Background(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	rdb.Del(context.Background(), "tasker:oauth:{"+cfg.CliqClientID+"}:token") // another test's token would pass
	closeRedis()
	out, err := runTestDoctor(t, cfg, nil, env)
	if err == nil || !strings.Contains(out, "✗ oauth: no access token") || !strings.Contains(out, "check TASKER_CLIQ_CLIENT_ID and TASKER_CLIQ_CLIENT_SECRET") {
		t.Errorf("doctor with a wrong client secret = %v:\n%s", err, out)
	}
	cfg.RedisURL = ""
	out, err = runTestDoctor(t, cfg, nil, env)
	if err == nil || !strings.Contains(out, "✗ redis: no TASKER_REDIS_URL") || !strings.Contains(out, "fix: set TASKER_REDIS_URL") {
		t.Errorf("doctor without Redis = %v:\n%s", err, out)
	}
	out, err = runTestDoctor(t, config{}, errors.New("config: TASKER_CLIQ_DC: unknown data centre \"mars\""), env)
	if err == nil || !strings.Contains(out, "✗ configuration: config: TASKER_CLIQ_DC") {
		t.Errorf("doctor with a bad config = %v:\n%s", err, out)
	}
}

// TestDoctorReplicasForWait: with TASKER_REDIS_WAIT_REPLICAS set, doctor
// counts the master's replicas, since every write fails while fewer are
// connected than the setting asks for.
func TestDoctorReplicasForWait(t *testing.T) {
	_, cfg, env := newTestInstall(t)
	cfg.RedisWaitReplicas = 1
	out, _ := runTestDoctor(t, cfg, nil, env)
	if !strings.Contains(out, "✗ redis replicas: 0 connected, but TASKER_REDIS_WAIT_REPLICAS=1") || !strings.Contains(out, "fix: connect 1 more replica to the master") {
		t.Errorf("doctor on a server without replicas:\n%s", out)
	}
	cfg.RedisURL = ""
	cfg.RedisSentinels, cfg.RedisMaster = strings.Join(redistest.SentinelAddrs(t), ","), redistest.MasterName
	out, _ = runTestDoctor(t, cfg, nil, env)
	if !strings.Contains(out, "✓ redis replicas: 1 connected; writes wait for 1") {
		t.Errorf("doctor on a Sentinel master with a replica:\n%s", out)
	}
	cfg.RedisWaitReplicas = 0
	if out, _ = runTestDoctor(t, cfg, nil, env); strings.Contains(out, "redis replicas") {
		t.Errorf("doctor checks replicas with TASKER_REDIS_WAIT_REPLICAS=0:\n%s", out)
	}
}
