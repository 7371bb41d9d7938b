// The glue's scheduler (sim/scheduler.h): the SC_METHOD / sc_event semantics it keeps, and the
// order that makes runs deterministic. One scheduler per process, so the tests share it: each
// runs it to the end (nothing pending) before the next starts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "scheduler.h"

namespace {

struct Recorder {
    std::vector<std::string> log;
    void at(const std::string &what) { log.push_back(what + "@" + std::to_string(sched().now())); }
};

// A process that writes its name and the time to a Recorder whenever it runs.
struct Logged {
    Logged(Recorder &r, std::string name) : rec(r), name(std::move(name))
    {
        proc.bind<&Logged::run>(this);
    }
    void run() { rec.at(name); }
    Recorder &rec;
    std::string name;
    SchedProc proc;
};

TEST(Scheduler, TimedNotificationRunsTheProcessAtItsTime)
{
    Recorder r;
    SchedEvent e;
    Logged p(r, "p");
    p.proc << e;
    const uint64_t t0 = sched().now();
    e.notify(250);
    sched().run();
    ASSERT_EQ(r.log.size(), 1u);
    EXPECT_EQ(r.log[0], "p@" + std::to_string(t0 + 250));
    EXPECT_FALSE(sched().pending());
}

TEST(Scheduler, AnEarlierNotificationReplacesALaterOneNotTheReverse)
{
    Recorder r;
    SchedEvent e;
    Logged p(r, "p");
    p.proc << e;
    const uint64_t t0 = sched().now();
    e.notify(500);
    e.notify(100); // earlier: replaces
    e.notify(300); // later than the pending one: ignored
    EXPECT_EQ(sched().next_time(), t0 + 100);
    sched().run();
    ASSERT_EQ(r.log.size(), 1u); // one notification pending at a time
    EXPECT_EQ(r.log[0], "p@" + std::to_string(t0 + 100));
}

TEST(Scheduler, SameTimeEventsTriggerInNotificationOrderAndTriggerFirstLeads)
{
    Recorder r;
    SchedEvent a, b, c;
    Logged pa(r, "a");
    Logged pb(r, "b");
    Logged pc(r, "c");
    pa.proc << a;
    pb.proc << b;
    pc.proc << c;
    c.trigger_first();
    b.notify(40);
    c.notify(40);
    a.notify(40);
    sched().run();
    const std::string t = std::to_string(sched().now());
    EXPECT_EQ(r.log, (std::vector<std::string>{"c@" + t, "b@" + t, "a@" + t}));
}

TEST(Scheduler, AProcessRunsOncePerDeltaHoweverManyEventsWakeIt)
{
    Recorder r;
    SchedEvent a, b;
    Logged p(r, "p");
    p.proc << a << b;
    a.notify(10);
    b.notify(10);
    sched().run();
    EXPECT_EQ(r.log.size(), 1u);
}

TEST(Scheduler, DeltaNotificationRunsAtTheSameTimeAfterTheCurrentEvaluation)
{
    Recorder r;
    SchedEvent go, d;
    SchedProc first;
    auto f_first = [&] {
        r.at("first");
        d.notify_delta();
    };
    first.bind_fn(&f_first);
    Logged second(r, "second");
    Logged late(r, "late");
    first << go;
    second.proc << go;
    late.proc << d;
    go.notify(7);
    sched().run();
    const std::string t = std::to_string(sched().now());
    EXPECT_EQ(r.log, (std::vector<std::string>{"first@" + t, "second@" + t, "late@" + t}));
}

TEST(Scheduler, AlsoOnceWakesOnlyUntilTheProcessNextRuns)
{
    Recorder r;
    SchedEvent own, other;
    Logged p(r, "p");
    p.proc << own;
    const uint64_t t0 = sched().now();
    p.proc.also_once(other);
    other.notify(5); // wakes p: it has not run since it asked
    sched().run();
    p.proc.also_once(other);
    own.notify(3); // p runs first, so the one-shot on other is spent
    other.notify(9);
    sched().run();
    EXPECT_EQ(r.log, (std::vector<std::string>{"p@" + std::to_string(t0 + 5),
                                               "p@" + std::to_string(t0 + 8)}));
}

TEST(Scheduler, CancelAndDestructionWithdrawPendingNotifications)
{
    Recorder r;
    Logged p(r, "p");
    SchedEvent kept;
    p.proc << kept;
    {
        SchedEvent gone;
        p.proc << gone;
        gone.notify(20);
        kept.notify(30);
        kept.cancel();
        EXPECT_TRUE(sched().pending());
    } // gone's notification leaves with it
    EXPECT_FALSE(sched().pending());
    sched().run();
    EXPECT_TRUE(r.log.empty());
}

TEST(Scheduler, NextTimeCountsTheProcessesStillToRunNow)
{
    SchedEvent go, later;
    SchedProc a, b;
    uint64_t seen = 0;
    auto f_a = [&] { seen = sched().next_time(); };
    auto f_b = [] {};
    a.bind_fn(&f_a);
    b.bind_fn(&f_b);
    a << go;
    b << go;
    later.notify(1000);
    go.notify(1);
    const uint64_t t = sched().now() + 1;
    sched().run();
    EXPECT_EQ(seen, t); // b was still to run at t
}

// Last: stop() ends the run for good, as sc_stop does.
TEST(Scheduler, StopEndsTheRunAfterTheCurrentDelta)
{
    Recorder r;
    SchedEvent e, f;
    SchedProc p;
    auto f_p = [&] {
        r.at("p");
        sched().stop();
        f.notify(1);
    };
    p.bind_fn(&f_p);
    Logged q(r, "q");
    p << e;
    q.proc << f;
    e.notify(1);
    sched().run();
    EXPECT_EQ(r.log.size(), 1u);
    EXPECT_TRUE(sched().stopped());
    EXPECT_EQ(sched().step(), Sched::kNever);
}

} // namespace

// libsystemc wants the program's sc_main; gtest_main's main runs these tests, not SystemC.
int sc_main(int, char **) { return 0; }
