// The glue's scheduler (sim/scheduler.h): the SC_METHOD / sc_event semantics it keeps, and the
// order that makes runs deterministic. One scheduler per process, so the tests share it: each
// runs it to the end (nothing pending) before the next starts.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
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
    Logged(Recorder &r, std::string name, SchedEvent &on) : Logged(r, std::move(name))
    {
        proc << on; // statically sensitive to on
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
    Logged p(r, "p", e);
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
    Logged p(r, "p", e);
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
    Logged pa(r, "a", a);
    Logged pb(r, "b", b);
    Logged pc(r, "c", c);
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
    Logged p(r, "p", own);
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

TEST(Scheduler, ANotificationMovedEarlierTakesAFreshPlaceAmongThatTimesEvents)
{
    Recorder r;
    SchedEvent a, b, c;
    Logged pa(r, "a", a);
    Logged pb(r, "b", b);
    Logged pc(r, "c", c);
    a.notify(50);
    b.notify(30);
    c.notify(40);
    a.notify(30); // now due with b, but notified after it
    EXPECT_EQ(sched().next_time(), sched().now() + 30);
    sched().run();
    const std::string t = std::to_string(sched().now() - 10);
    const std::string t_c = std::to_string(sched().now());
    EXPECT_EQ(r.log, (std::vector<std::string>{"b@" + t, "a@" + t, "c@" + t_c}));
}

TEST(Scheduler, APendingTimedNotificationMovedToNowRunsInTheNextDeltaOnly)
{
    Recorder r;
    SchedEvent go, e, other;
    SchedProc first;
    auto f_first = [&] {
        r.at("first");
        e.notify_delta(); // e was due 100 later: now in the next delta, and not again then
    };
    first.bind_fn(&f_first);
    Logged pe(r, "e");
    Logged po(r, "other");
    first << go;
    pe.proc << e;
    po.proc << other;
    const uint64_t t0 = sched().now();
    e.notify(110);
    other.notify(200);
    go.notify(10);
    sched().run();
    const std::string t = std::to_string(t0 + 10);
    EXPECT_EQ(r.log, (std::vector<std::string>{"first@" + t, "e@" + t,
                                               "other@" + std::to_string(t0 + 200)}));
}

TEST(Scheduler, CancellingANotificationBetweenOthersKeepsTheirOrder)
{
    Recorder r;
    SchedEvent a, b, c, d;
    Logged pa(r, "a", a);
    Logged pb(r, "b", b);
    Logged pc(r, "c", c);
    Logged pd(r, "d", d);
    const uint64_t t0 = sched().now();
    d.notify(40);
    a.notify(10);
    c.notify(30);
    b.notify(20);
    c.cancel();  // between b and d
    c.cancel();  // twice: nothing more
    b.notify(5); // then b, moved to the front
    sched().run();
    EXPECT_EQ(r.log, (std::vector<std::string>{"b@" + std::to_string(t0 + 5),
                                               "a@" + std::to_string(t0 + 10),
                                               "d@" + std::to_string(t0 + 40)}));
    EXPECT_FALSE(c.pending());
}

TEST(Scheduler, TriggerFirstEventsLeadThoseNotifiedBeforeThemAndKeepTheirOwnOrder)
{
    Recorder r;
    SchedEvent a, b, f1, f2;
    Logged pa(r, "a", a);
    Logged pb(r, "b", b);
    Logged p1(r, "f1", f1);
    Logged p2(r, "f2", f2);
    f1.trigger_first();
    f2.trigger_first();
    a.notify(25);
    f2.notify(25);
    b.notify(25);
    f1.notify(25);
    sched().run();
    const std::string t = std::to_string(sched().now());
    EXPECT_EQ(r.log, (std::vector<std::string>{"f2@" + t, "f1@" + t, "a@" + t, "b@" + t}));
}

TEST(Scheduler, StartWhileOthersRunRunsInTheSameEvaluationBeforeTheDelta)
{
    Recorder r;
    SchedEvent go, d;
    SchedProc a, late_start;
    auto f_late = [&] { r.at("started"); };
    auto f_a = [&] {
        r.at("a");
        late_start.bind_fn(&f_late, true); // runnable now, as a process made at time 0 is
        d.notify_delta();
    };
    a.bind_fn(&f_a);
    Logged b(r, "b");
    Logged on_d(r, "delta");
    a << go;
    b.proc << go;
    on_d.proc << d;
    go.notify(3);
    sched().run();
    const std::string t = std::to_string(sched().now());
    EXPECT_EQ(r.log, (std::vector<std::string>{"a@" + t, "b@" + t, "started@" + t, "delta@" + t}));
}

TEST(Scheduler, DestroyingAProcessThatRanDoesNotSkipTheNextOne)
{
    Recorder r;
    SchedEvent go;
    auto a = std::make_unique<Logged>(r, "a");
    SchedProc b;
    auto f_b = [&] {
        r.at("b");
        a.reset(); // a ran already in this evaluation; c is still to run
    };
    b.bind_fn(&f_b);
    Logged c(r, "c");
    a->proc << go;
    b << go;
    c.proc << go;
    go.notify(2);
    sched().run();
    const std::string t = std::to_string(sched().now());
    EXPECT_EQ(r.log, (std::vector<std::string>{"a@" + t, "b@" + t, "c@" + t}));
}

// Many events notified, moved earlier and cancelled, from outside and from the processes they
// wake, at times from 1 ps to 1 s ahead (many of them equal): they fire exactly in the order of a
// naive model that sorts the pending ones by (time, trigger_first, notification order). Run once
// to the end and once a time step at a time (lockstep), with the same outcome.
class SchedOrderModel {
public:
    struct Op {
        bool cancel;
        size_t target;
        uint64_t delay;
    };
    static constexpr size_t kEvents = 24;

    SchedOrderModel()
    {
        std::mt19937_64 rng(20261202);
        static const uint64_t delays[] = {1, 2, 3, 7, 100, 1000, 4096, 1000000, 1000000000000};
        auto ops = [&](size_t n) {
            std::vector<Op> v;
            for (size_t i = 0; i < n; i++)
                v.push_back({rng() % 6 == 0, static_cast<size_t>(rng() % kEvents),
                             delays[rng() % std::size(delays)]});
            return v;
        };
        for (size_t id = 0; id < kEvents; id++) {
            first[id] = rng() % 6 == 0;
            for (size_t k = 0; k < 10; k++) // what the process does on its k-th run; then nothing
                acts[id].push_back(ops(1 + rng() % 4));
        }
        initial = ops(40);
    }

    // The expected firing order: a pending list searched for its least entry.
    std::vector<size_t> expected()
    {
        struct Pend {
            uint64_t when;
            bool first;
            uint64_t seq;
        };
        std::vector<std::optional<Pend>> pend(kEvents);
        std::vector<size_t> runs(kEvents, 0), order;
        uint64_t now = 0, seq = 0;
        auto apply = [&](const std::vector<Op> &v) {
            for (const Op &op : v) {
                auto &p = pend[op.target];
                if (op.cancel) {
                    cancelled += p.has_value();
                    p.reset();
                } else if (!p || p->when > now + op.delay) {
                    moved += p.has_value();
                    p = Pend{now + op.delay, first[op.target], seq++};
                }
            }
        };
        apply(initial);
        for (;;) {
            auto key = [&](size_t i) {
                return std::tuple(pend[i]->when, !pend[i]->first, pend[i]->seq);
            };
            std::vector<size_t> due;
            for (size_t i = 0; i < kEvents; i++)
                if (pend[i] && (due.empty() || pend[i]->when < pend[due[0]]->when))
                    due = {i};
                else if (pend[i] && pend[i]->when == pend[due[0]]->when)
                    due.push_back(i);
            if (due.empty())
                return order;
            std::sort(due.begin(), due.end(), [&](size_t x, size_t y) { return key(x) < key(y); });
            now = pend[due[0]]->when;
            shared += due.size() > 1;
            for (size_t i : due)
                pend[i].reset();
            for (size_t i : due) { // one process per event: they run in trigger order
                order.push_back(i);
                if (runs[i] < acts[i].size())
                    apply(acts[i][runs[i]]);
                runs[i]++;
            }
        }
    }

    // The same on the scheduler: firing order of its events, relative times unused.
    std::vector<size_t> actual(bool lockstep)
    {
        std::vector<size_t> order;
        std::vector<size_t> runs(kEvents, 0);
        std::vector<std::unique_ptr<SchedEvent>> ev;
        std::vector<std::unique_ptr<SchedProc>> proc;
        std::vector<std::function<void()>> fn(kEvents);
        auto apply = [&](const std::vector<Op> &v) {
            for (const Op &op : v) {
                if (op.cancel)
                    ev[op.target]->cancel();
                else
                    ev[op.target]->notify(op.delay);
            }
        };
        for (size_t id = 0; id < kEvents; id++) {
            ev.push_back(std::make_unique<SchedEvent>());
            if (first[id])
                ev[id]->trigger_first();
        }
        for (size_t id = 0; id < kEvents; id++) {
            fn[id] = [&, id] {
                order.push_back(id);
                if (runs[id] < acts[id].size())
                    apply(acts[id][runs[id]]);
                runs[id]++;
            };
            proc.push_back(std::make_unique<SchedProc>());
            proc[id]->bind_fn(&fn[id]);
            *proc[id] << *ev[id];
        }
        apply(initial);
        if (lockstep) {
            uint64_t next = sched().next_time();
            while (next != Sched::kNever) {
                uint64_t got = sched().step();
                EXPECT_TRUE(got == Sched::kNever || got > next);
                next = got;
            }
        } else {
            sched().run();
        }
        return order;
    }

    bool first[kEvents] = {};
    std::vector<std::vector<Op>> acts[kEvents];
    std::vector<Op> initial;
    // What expected() went through: pending notifications cancelled, moved earlier, and time
    // steps where several events fired.
    size_t cancelled = 0, moved = 0, shared = 0;
};

TEST(Scheduler, FiringOrderMatchesANaiveModelUnderNotifyMoveAndCancel)
{
    SchedOrderModel m;
    const std::vector<size_t> want = m.expected();
    // enough of what could go wrong: firings, cancels and moves of pending entries, ties
    ASSERT_GT(want.size(), 150u);
    ASSERT_GT(m.cancelled, 20u);
    ASSERT_GT(m.moved, 40u);
    ASSERT_GT(m.shared, 20u);
    EXPECT_EQ(m.actual(false), want);
    EXPECT_EQ(m.actual(true), want);
    EXPECT_FALSE(sched().pending());
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
