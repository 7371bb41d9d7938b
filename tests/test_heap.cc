// models/common/heap: order, positions (the moved callback), removal and re-keying.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "heap.h"

namespace {

struct Item {
    uint64_t key;
    uint32_t id; // unique: breaks ties, so the order is total
};

bool item_before(const void *a, const void *b, void *)
{
    const Item *x = static_cast<const Item *>(a), *y = static_cast<const Item *>(b);
    return x->key < y->key || (x->key == y->key && x->id < y->id);
}

// Keys live outside the heap (as happ's due cycles do): the heap holds ids, ctx the keys and
// the positions the moved callback records.
struct Book {
    std::vector<uint64_t> key;
    std::vector<uint32_t> pos;
};

bool id_before(const void *a, const void *b, void *ctx)
{
    const Book *bk = static_cast<const Book *>(ctx);
    uint32_t x = *static_cast<const uint32_t *>(a), y = *static_cast<const uint32_t *>(b);
    return bk->key[x] < bk->key[y] || (bk->key[x] == bk->key[y] && x < y);
}

void id_moved(const void *e, uint32_t pos, void *ctx)
{
    static_cast<Book *>(ctx)->pos[*static_cast<const uint32_t *>(e)] = pos;
}

// Every parent leaves before its children, and every recorded position is right.
void check_heap(const heap &h, const Book &bk)
{
    for (uint32_t i = 0; i < heap_count(&h); i++) {
        uint32_t id = *static_cast<const uint32_t *>(heap_at(&h, i));
        ASSERT_EQ(bk.pos[id], i) << "id " << id;
        if (i > 0) {
            ASSERT_FALSE(
                id_before(heap_at(&h, i), heap_at(&h, (i - 1) / 2), const_cast<Book *>(&bk)))
                << "index " << i;
        }
    }
}

} // namespace

TEST(Heap, PopsInOrderWhateverThePushOrderAndGrowsPast64)
{
    std::mt19937 rng(7);
    std::vector<Item> items;
    for (uint32_t i = 0; i < 1000; i++)
        items.push_back({rng() % 50, i}); // many equal keys: the id decides
    heap h;
    heap_init(&h, sizeof(Item), item_before, nullptr, nullptr);
    for (const Item &it : items)
        ASSERT_TRUE(heap_push(&h, &it));
    EXPECT_EQ(heap_count(&h), 1000u);
    EXPECT_GE(h.cap, 1000u);
    std::sort(items.begin(), items.end(),
              [](const Item &a, const Item &b) { return item_before(&a, &b, nullptr); });
    for (const Item &want : items) {
        Item got;
        heap_pop(&h, &got);
        ASSERT_EQ(got.key, want.key);
        ASSERT_EQ(got.id, want.id);
    }
    EXPECT_EQ(heap_count(&h), 0u);
    heap_free(&h);
    EXPECT_EQ(h.v, nullptr);
    EXPECT_EQ(h.cap, 0u);
}

TEST(Heap, MovedCallbackTracksEveryElementThroughPushRemoveAndFix)
{
    const uint32_t n = 300;
    Book bk{std::vector<uint64_t>(n), std::vector<uint32_t>(n, UINT32_MAX)};
    heap h;
    heap_init(&h, sizeof(uint32_t), id_before, id_moved, &bk);
    ASSERT_EQ(heap_reserve(&h, n), 0);
    std::mt19937 rng(11);
    std::vector<bool> in(n, false);
    for (int step = 0; step < 5000; step++) {
        uint32_t id = rng() % n;
        if (!in[id]) {
            bk.key[id] = rng() % 1000;
            ASSERT_TRUE(heap_push(&h, &id));
            in[id] = true;
        } else if (rng() % 2) { // take it out before its turn
            uint32_t got = UINT32_MAX;
            heap_remove(&h, bk.pos[id], &got);
            ASSERT_EQ(got, id);
            in[id] = false;
        } else { // re-key in place, earlier or later
            bk.key[id] = rng() % 1000;
            heap_fix(&h, bk.pos[id]);
        }
        check_heap(h, bk);
        ASSERT_EQ(heap_count(&h), static_cast<uint32_t>(std::count(in.begin(), in.end(), true)));
    }
    // what is left leaves in (key, id) order
    std::vector<uint32_t> left;
    for (uint32_t i = 0; i < n; i++)
        if (in[i])
            left.push_back(i);
    std::sort(left.begin(), left.end(),
              [&](uint32_t a, uint32_t b) { return id_before(&a, &b, &bk); });
    for (uint32_t want : left) {
        uint32_t got;
        heap_pop(&h, &got);
        ASSERT_EQ(got, want);
    }
    heap_free(&h);
}

TEST(Heap, RemovingTheLastOrTheOnlyElementLeavesTheRestAlone)
{
    heap h;
    heap_init(&h, sizeof(Item), item_before, nullptr, nullptr);
    Item a{5, 0}, b{3, 1}, got{};
    ASSERT_TRUE(heap_push(&h, &a));
    heap_remove(&h, 0, &got);
    EXPECT_EQ(got.id, 0u);
    EXPECT_EQ(heap_count(&h), 0u);
    ASSERT_TRUE(heap_push(&h, &a));
    ASSERT_TRUE(heap_push(&h, &b)); // b first: {b, a}
    EXPECT_EQ(static_cast<const Item *>(heap_at(&h, 0))->id, 1u);
    heap_remove(&h, 1, nullptr); // the last: a
    EXPECT_EQ(heap_count(&h), 1u);
    EXPECT_EQ(static_cast<const Item *>(heap_at(&h, 0))->id, 1u);
    heap_free(&h);
}
