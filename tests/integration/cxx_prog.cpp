// cxx_prog.cpp - C++ under the agent: new/delete, std::vector growth, an
// exception thrown through allocating frames and caught. Its output must be
// the same bare and traced, and the report must show demangled names.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct Widget {
	int id;
	std::string name;
	explicit Widget(int i) : id(i), name(std::string(40, 'w') + std::to_string(i)) {}
};

namespace shop {
struct Basket {
	std::vector<long> items;
	__attribute__((noinline)) void fill(int n)
	{
		for (int i = 0; i < n; i++)
			items.push_back(i); // grows by reallocation
	}
};
} // namespace shop

__attribute__((noinline)) std::vector<Widget *> make_widgets(int n)
{
	std::vector<Widget *> v;
	v.reserve(n);
	for (int i = 0; i < n; i++)
		v.push_back(new Widget(i));
	return v;
}

__attribute__((noinline)) void deep_thrower(int depth)
{
	std::vector<int> on_the_way(100, depth); // freed during unwinding
	if (depth == 0)
		throw std::runtime_error(std::string(80, 'e'));
	deep_thrower(depth - 1);
}

char *volatile sink;

int main()
{
	std::vector<Widget *> w = make_widgets(100);
	for (size_t i = 0; i < w.size(); i += 2)
		delete w[i];
	shop::Basket b;
	b.fill(5000);
	int caught = 0;
	for (int i = 0; i < 10; i++) {
		try {
			deep_thrower(20);
		} catch (const std::exception &e) {
			caught += e.what()[0] == 'e';
		}
	}
	// volatile size and an escaping pointer: the compiler may not elide the new.
	volatile size_t too_big = (size_t)1 << 62;
	try {
		std::unique_ptr<char[]> huge(new char[too_big]);
		sink = huge.get();
	} catch (const std::bad_alloc &) {
		caught += 100;
	}
	std::printf("caught %d, widgets %zu, items %zu\n", caught, w.size(), b.items.size());
	return 0;
}
