def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    work(10**6)
    fib(20)
